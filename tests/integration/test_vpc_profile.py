"""The VPC profile (examples/vpc/shared_config) end to end, on a sandbox of its own.

As a user would: `pipeline-infra sandbox network` stands up each environment's company network in the emulator
and writes its ids into the profile; dev and staging get their storage (which holds the functions' security
group and endpoints), prod every layer. Then: the functions run in their subnets with the project's group, the
endpoints and rules are in the emulator as rendered, every network resource reads back as recorded (and one
out-of-band change per type is seen), a prod change replicates to both targets, and drift and the guardrails
pass the profile.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.sandbox.changes import provider_placements
from pipeline_infra_tools.sandbox.resources.base import Clients, ResourceContext
from pipeline_infra_tools.sandbox.resources.network import HANDLERS as NETWORK_HANDLERS
from pipeline_infra_tools.sandbox.resources.reads import owned_children, read_differences, read_resource
from tests.conftest import ROOT
from tests.integration.conftest import copy_workspace, deployed_sandbox
from tests.integration.helpers import unique, wait_for_object
from tests.integration.out_of_band import NETWORK_OUT_OF_BAND, OutOfBand

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration
CLI = Path(sys.executable).parent / "pipeline-infra"
PROFILE = ROOT / "examples" / "vpc" / "shared_config"
ENVIRONMENTS = ("dev", "staging", "prod")
INTERFACE_SERVICES = {"sqs", "sns", "sts", "logs", "monitoring", "events"}


def pipeline_infra(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLI), *args], cwd=root, capture_output=True, text=True, check=False, timeout=600)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DeployedSandbox, list[dict[str, Any]]]]:
    root = tmp_path_factory.mktemp("vpc-profile")
    workspace = copy_workspace(root)
    shutil.rmtree(root / "shared_config")
    shutil.copytree(PROFILE, root / "shared_config")
    # GIVEN the company networks stood up in the sandbox as a user does it (this starts the sandbox)
    completed = pipeline_infra(root, "sandbox", "network", "--format", "json")
    if completed.returncode != 0:
        pipeline_infra(root, "sandbox", "down")
        pytest.fail(f"sandbox network failed: {completed.stderr}")
    networks = json.loads(completed.stdout)
    # AND the targets' storage (their network included) and every layer of prod deployed into it
    with deployed_sandbox(workspace, lambda env: None if env == "prod" else ["storage"]) as deployed:
        yield deployed, networks


@pytest.fixture(scope="module")
def vpc(seeded: tuple[DeployedSandbox, list[dict[str, Any]]]) -> DeployedSandbox:
    return seeded[0]


def ec2_network(vpc: DeployedSandbox, env: str) -> Any:
    network = vpc.settings.env(env).network
    assert network is not None, env
    return network


def test_sandbox_network_stood_up_each_network_in_distinct_zones_and_wrote_its_ids(
    seeded: tuple[DeployedSandbox, list[dict[str, Any]]],
) -> None:
    vpc, networks = seeded
    assert [n["environment"] for n in networks] == list(ENVIRONMENTS)
    for created in networks:
        network = ec2_network(vpc, created["environment"])
        assert created["created"] is True
        assert (network.vpc_id, network.subnet_ids) == (created["vpc_id"], created["subnet_ids"])
        assert len(set(created["availability_zones"])) == len(created["subnet_ids"]) >= 2
        subnets = vpc.client("ec2").describe_subnets(SubnetIds=network.subnet_ids)["Subnets"]
        assert {s["VpcId"] for s in subnets} == {network.vpc_id}
    # WHEN it runs again THEN it finds every network in place and changes nothing
    before = {env: (vpc.workspace.config_dir / f"{env}.yaml").read_text() for env in ENVIRONMENTS}
    again = pipeline_infra(vpc.workspace.root, "sandbox", "network", "--format", "json")
    assert again.returncode == 0, again.stderr
    assert [n["created"] for n in json.loads(again.stdout)] == [False, False, False]
    assert {env: (vpc.workspace.config_dir / f"{env}.yaml").read_text() for env in ENVIRONMENTS} == before


def test_every_prod_function_runs_in_its_subnets_with_the_projects_group(vpc: DeployedSandbox) -> None:
    network = ec2_network(vpc, "prod")
    group = vpc.outputs("storage", "prod")["function_security_group_id"]
    lambda_ = vpc.client("lambda")
    names = [
        vpc.outputs("processing", "prod")["validator_function_name"],
        vpc.outputs("processing", "prod")["task_processor_function_name"],
        vpc.outputs("replication", "prod")["replicator_function_name"],
        vpc.outputs("replication", "prod")["drift_checker_function_name"],
    ]
    for name in names:
        config = lambda_.get_function_configuration(FunctionName=name)["VpcConfig"]
        assert (config["SubnetIds"], config["SecurityGroupIds"]) == (network.subnet_ids, [group]), name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_endpoints_are_in_the_emulator_with_their_policies(vpc: DeployedSandbox, env: str) -> None:
    network = ec2_network(vpc, env)
    settings = vpc.settings.env(env)
    found = vpc.client("ec2").describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [network.vpc_id]}])
    by_service = {e["ServiceName"].rsplit(".", 1)[1]: e for e in found["VpcEndpoints"]}
    expected = INTERFACE_SERVICES | {"s3", "dynamodb"} | ({"xray"} if settings.functions.tracing else set())
    assert set(by_service) == expected
    for service in ("s3", "dynamodb"):
        assert by_service[service]["VpcEndpointType"] == "Gateway"
        assert by_service[service]["RouteTableIds"] == network.route_table_ids
    for service in expected - {"s3", "dynamodb"}:
        assert by_service[service]["VpcEndpointType"] == "Interface"
        assert sorted(by_service[service]["SubnetIds"]) == sorted(network.subnet_ids)
    s3_policy = json.loads(by_service["s3"]["PolicyDocument"])
    buckets = {r for s in s3_policy["Statement"] for r in s["Resource"]}
    own = vpc.outputs("storage", env)["bucket_arn"]
    targets = [vpc.outputs("storage", t)["bucket_arn"] for t in settings.replication.targets]
    assert buckets == {arn for b in (own, *targets) for arn in (b, f"{b}/*")}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_functions_group_has_no_ingress_and_https_egress_to_the_endpoints_only(
    vpc: DeployedSandbox, env: str
) -> None:
    ec2 = vpc.client("ec2")
    group = vpc.outputs("storage", env)["function_security_group_id"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
    assert [r for r in rules if not r["IsEgress"]] == []
    # The default allow-all egress AWS adds to a new group is gone; three HTTPS rules remain.
    assert len(rules) == 3, rules
    assert all((r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("tcp", 443, 443) for r in rules)
    assert not any(r.get("CidrIpv4") for r in rules)
    prefix_lists = {r["PrefixListId"] for r in rules if r.get("PrefixListId")}
    region = vpc.settings.env(env).region
    names = {p["PrefixListName"] for p in ec2.describe_prefix_lists(PrefixListIds=sorted(prefix_lists))["PrefixLists"]}
    assert names == {f"com.amazonaws.{region}.s3", f"com.amazonaws.{region}.dynamodb"}


def test_a_prod_change_replicates_to_both_targets(vpc: DeployedSandbox) -> None:
    # GIVEN a config document written in prod
    s3 = vpc.client("s3")
    prod = vpc.outputs("storage", "prod")
    key = f"config/pipelines/{unique('vpc')}.json"
    s3.put_object(Bucket=prod["bucket_name"], Key=key, Body=json.dumps({"table": prod["config_table_name"]}).encode())
    # THEN each target holds it, rewritten to name its own table
    for target in ("dev", "staging"):
        storage = vpc.outputs("storage", target)
        replica = wait_for_object(s3, storage["bucket_name"], key).json()
        assert replica["table"] == storage["config_table_name"], target


# -- reads: every network resource as recorded, and one out-of-band change per type ------------------------
def _records(vpc: DeployedSandbox) -> list[tuple[str, dict[str, Any], str]]:
    records = []
    for path in sorted(vpc.target.store.root.glob("*/*.json")):
        saved = json.loads(path.read_text(encoding="utf-8"))
        placements = provider_placements(saved["resources"])
        for record in saved["resources"]:
            where = placements.get(record["provider"] or "")
            records.append((path.stem, record, (where.region if where else None) or vpc.state.region))
    return records


@pytest.fixture(scope="module")
def network_reads(vpc: DeployedSandbox) -> Iterator[tuple[list[tuple[str, dict[str, Any], str]], Any, Any]]:
    records = _records(vpc)
    state = vpc.state
    clients = Clients.create(state.endpoint, state.region, state.access_key_id, state.secret_access_key)
    ctx = ResourceContext(clients, state.region, str(clients.sts.get_caller_identity()["Account"]), {})
    yield records, ctx, owned_children(record for _env, record, _region in records)
    for client in clients.by_service.values():
        client.close()


def test_every_network_resource_and_function_reads_back_as_recorded(network_reads: Any) -> None:
    records, ctx, owned = network_reads
    network = [(env, r) for env, r, _region in records if r["type"] in NETWORK_HANDLERS]
    # Per environment: 2 groups, 1 ingress and 3 egress rules, 8 endpoints; staging and prod add X-Ray.
    assert len(network) == 3 * 14 + 2
    functions = [(env, r) for env, r, _region in records if r["type"] == "aws:lambda/function:Function"]
    assert len(functions) == 4 and all(r["inputs"]["vpcConfig"]["subnetIds"] for _env, r in functions)
    for env, record in network + functions:
        result = read_resource(record, ctx, owned)
        where = f"{env} {record['type']} {record['name']} ({record['id']})"
        assert not result.gone, where
        assert read_differences(record, result) == [], (
            f"{where}: {[d.to_json() for d in read_differences(record, result)]}"
        )
        assert result.extras == (), where


def _find(records: list[tuple[str, dict[str, Any], str]], case: OutOfBand) -> dict[str, Any]:
    [found] = [r for env, r, _region in records if (r["type"], env, r["name"]) == (case.type_, case.env, case.name)]
    return found


@pytest.mark.parametrize("case", NETWORK_OUT_OF_BAND, ids=[c.type_.rsplit(":", 1)[1] for c in NETWORK_OUT_OF_BAND])
def test_an_out_of_band_network_change_reads_as_that_property(
    vpc: DeployedSandbox, network_reads: Any, case: OutOfBand
) -> None:
    records, ctx, owned = network_reads
    record = _find(records, case)
    # WHEN someone changes it by hand THEN the read shows exactly that change; restored, it reads clean
    with case.change(vpc, record):
        paths = [d.path for d in read_differences(record, read_resource(record, ctx, owned))]
        assert paths == [case.path], paths
    assert read_differences(record, read_resource(record, ctx, owned)) == []


def test_an_egress_rule_added_by_hand_is_reported_on_its_group(vpc: DeployedSandbox, network_reads: Any) -> None:
    records, ctx, owned = network_reads
    [group] = [r for env, r, _ in records if env == "dev" and r["name"] == "network-functions"]
    ec2 = vpc.client("ec2")
    # GIVEN someone opens the functions' group to the internet
    added = ec2.authorize_security_group_egress(
        GroupId=group["id"], IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    try:
        # THEN the read of the group names the rule no stack records
        extras = read_resource(group, ctx, owned).extras
        assert [(e.kind, e.aws_name) for e in extras] == [("security-group-rule", f"{group['id']}/{added}")]
        assert "0.0.0.0/0" in extras[0].detail
    finally:
        ec2.revoke_security_group_egress(GroupId=group["id"], SecurityGroupRuleIds=[added])
    assert read_resource(group, ctx, owned).extras == ()


# -- the profile through drift and the guardrails, as a user runs them ----------------------------------------
def test_drift_treats_same_shaped_networks_as_no_drift(vpc: DeployedSandbox) -> None:
    completed = pipeline_infra(vpc.workspace.root, "drift", "--format", "json")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert load_settings(vpc.workspace.config_dir).env("prod").network is not None


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_policy_check_passes_the_vpc_profile(vpc: DeployedSandbox, env: str) -> None:
    completed = pipeline_infra(vpc.workspace.root, "policy", "check", "--env", env)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
