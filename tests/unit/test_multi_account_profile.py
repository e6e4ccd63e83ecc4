"""The multi-account profile (examples/multi-account/shared_config): every environment rendered in its own account
and region through its deployment role, the only cross-account references the replication ones, the writer roles
trusting prod's roles from within the organization (and with the external id when settings give one), and the
profile passing the guardrails, the IAM lint and drift. The default profile is rendered beside it where the two
must differ (no deployment roles, no trust conditions)."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from pipeline_functions.shared.targets import AssumeRoleCredentialsProvider, parse_targets
from pipeline_infra.naming import Names, name_token
from pipeline_infra.settings import CONFIG_DIR_ENV, load_settings
from pipeline_infra_tools.drift.live import data_targets
from pipeline_infra_tools.programs.render import render_stacks
from tests.conftest import ROOT
from tests.unit.conftest import ENVIRONMENTS, RenderedStack, stack
from tests.unit.test_config_option import run_cli
from tests.unit.test_iam_lint import as_identity_policy, findings, rendered_policies, trust_policies

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pipeline_infra.settings import EnvironmentSettings, Settings
    from pipeline_infra_tools.engine import RecordedResource
    from pipeline_infra_tools.workspace import Workspace

Rendered = dict[tuple[str, str], RenderedStack]

MULTI_ACCOUNT = ROOT / "examples" / "multi-account" / "shared_config"
PROVIDER = "pulumi:providers:aws"
ROLE = "aws:iam/role:Role"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
# Set in a copy of the profile: the source's replication external id, and dev's deployment external id and profile.
REPLICATION_EXTERNAL_ID = "pipeline-replication-7f3a"
DEPLOYMENT_EXTERNAL_ID = "deploy-dev-4b2c"
DEPLOYMENT_PROFILE = "ops-dev"
# partition:service:region:account: — the account is a 12-digit id, or a token such as API Gateway's "lambda".
ARN = re.compile(r"arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):(?P<account>[a-z0-9]*):[^\s\"',]+")


def render_profile(workspace: Workspace, config_dir: Path, wanted: list[tuple[str, str]] | None = None) -> Rendered:
    """Render `wanted` (default: every stack of every environment) with `config_dir` as the settings directory,
    as `--config` does: programs read it from $PIPELINE_CONFIG_DIR."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CONFIG_DIR_ENV, str(config_dir))
        settings = load_settings(config_dir)
        wanted = wanted or [(layer, env) for env in ENVIRONMENTS for layer in workspace.layers_for(env)]
        return {key: RenderedStack(result) for key, result in render_stacks(workspace, wanted, settings).items()}


@pytest.fixture(scope="module")
def multi_settings() -> Settings:
    return load_settings(MULTI_ACCOUNT)


@pytest.fixture(scope="module")
def multi_rendered(workspace: Workspace) -> Rendered:
    return render_profile(workspace, MULTI_ACCOUNT)


@pytest.fixture(scope="module")
def external_id_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the profile with replication.external_id in prod.yaml and dev's deployment external id and
    profile."""
    config_dir = tmp_path_factory.mktemp("external-id") / "shared_config"
    shutil.copytree(MULTI_ACCOUNT, config_dir)
    prod = yaml.safe_load((config_dir / "prod.yaml").read_text())
    prod.setdefault("replication", {})["external_id"] = REPLICATION_EXTERNAL_ID
    (config_dir / "prod.yaml").write_text(yaml.safe_dump(prod))
    dev = yaml.safe_load((config_dir / "dev.yaml").read_text())
    dev["deployment"].update(external_id=DEPLOYMENT_EXTERNAL_ID, profile=DEPLOYMENT_PROFILE)
    (config_dir / "dev.yaml").write_text(yaml.safe_dump(dev))
    return config_dir


@pytest.fixture(scope="module")
def external_id_rendered(workspace: Workspace, external_id_profile: Path) -> Rendered:
    """The targets' storage (their writer roles) and prod's replication (its REPLICATION_TARGETS) of that copy."""
    wanted = [("storage", "dev"), ("storage", "staging"), ("replication", "prod")]
    return render_profile(workspace, external_id_profile, wanted)


@pytest.fixture(params=["default", "multi-account"])
def profile(request: pytest.FixtureRequest) -> tuple[Settings, Rendered]:
    """Each shipped profile: its settings and every stack of every environment, rendered."""
    if request.param == "default":
        return request.getfixturevalue("settings"), request.getfixturevalue("rendered")
    return request.getfixturevalue("multi_settings"), request.getfixturevalue("multi_rendered")


def env_resources(rendered: Rendered, env: str) -> list[tuple[RenderedStack, RecordedResource]]:
    return [(s, r) for (_, stack_env), s in rendered.items() if stack_env == env for r in s.resources]


def only(rendered: Rendered, env: str, name: str) -> RecordedResource:
    [found] = [r for _, r in env_resources(rendered, env) if r.name == name]
    return found


def decoded(value: Any) -> Any:
    """Provider inputs and policies are JSON text; everything else is as recorded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def names(settings: Settings, env: str) -> Names:
    return Names(settings.project, settings.env(env))


def writer_role_arns(settings: Settings) -> set[str]:
    return {names(settings, target).role_arn("replica-writer") for target in settings.source.replication.targets}


def trusted_source_roles(settings: Settings) -> list[str]:
    source = names(settings, settings.source.name)
    return sorted([source.role_arn("replicator"), source.role_arn("drift-checker")])


# -- providers --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_provider_is_the_environments_account_and_region_through_its_deployment_role(
    profile: tuple[Settings, Rendered], env: str
) -> None:
    settings, rendered = profile
    environment = settings.env(env)
    providers = [r for _, r in env_resources(rendered, env) if r.type == PROVIDER]
    layers = [layer for layer, stack_env in rendered if stack_env == env]
    assert len(providers) == len(layers) >= 3, [p.urn for p in providers]
    for provider in providers:
        inputs = {key: decoded(value) for key, value in provider.inputs.items()}
        assert inputs["region"] == environment.region, provider.urn
        assert inputs["allowedAccountIds"] == [environment.account_id], provider.urn
        assert "profile" not in inputs, provider.urn
        if environment.deployment is None:
            assert "assumeRoles" not in inputs and "assumeRole" not in inputs, provider.urn
        else:
            assert inputs["assumeRoles"] == [
                {"roleArn": environment.deployment.role_arn, "sessionName": environment.deployment.session_name}
            ], provider.urn


def test_the_profiles_differ_in_deployment_roles_and_accounts(
    settings: Settings, multi_settings: Settings, rendered: Rendered, multi_rendered: Rendered
) -> None:
    # The parametrized check above only means something if one profile has roles and the other none.
    assert {settings.env(e).deployment for e in ENVIRONMENTS} == {None}
    assert None not in {multi_settings.env(e).deployment for e in ENVIRONMENTS}
    accounts = {
        env: {
            decoded(r.inputs["allowedAccountIds"])[0]
            for _, r in env_resources(multi_rendered, env)
            if r.type == PROVIDER
        }
        for env in ENVIRONMENTS
    }
    assert accounts == {env: {multi_settings.env(env).account_id} for env in ENVIRONMENTS}
    assert len({account for found in accounts.values() for account in found}) == 3
    assert {
        decoded(r.inputs["allowedAccountIds"])[0]
        for env in ENVIRONMENTS
        for _, r in env_resources(rendered, env)
        if r.type == PROVIDER
    } == {settings.env("dev").account_id}


def test_the_deployment_external_id_and_profile_reach_the_provider(
    external_id_rendered: Rendered, external_id_profile: Path
) -> None:
    settings = load_settings(external_id_profile)
    [dev] = stack(external_id_rendered, "storage", "dev").of_type(PROVIDER)
    assert decoded(dev.inputs["assumeRoles"]) == [
        {
            "roleArn": settings.env("dev").deployment.role_arn,  # type: ignore[union-attr]
            "sessionName": "pipeline-infra-deploy",
            "externalId": DEPLOYMENT_EXTERNAL_ID,
        }
    ]
    assert dev.inputs["profile"] == DEPLOYMENT_PROFILE
    # staging's deployment names neither
    [staging] = stack(external_id_rendered, "storage", "staging").of_type(PROVIDER)
    assert "profile" not in staging.inputs
    assert [set(role) for role in decoded(staging.inputs["assumeRoles"])] == [{"roleArn", "sessionName"}]


# -- ARNs: each environment's own, but for the replication grants -----------------------------------------------


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string under `value` with its path (list positions left out); JSON text is read as what it holds."""
    if isinstance(value, str):
        inner = decoded(value)
        if isinstance(inner, dict | list):
            yield from _leaves(inner, path)
        else:
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, path)


def _foreign(environment: EnvironmentSettings, arn: re.Match[str]) -> bool:
    account = arn["account"]
    return arn["region"] not in ("", environment.region) or (account.isdigit() and account != environment.account_id)


def foreign_arns(rendered: Rendered, environment: EnvironmentSettings) -> set[tuple[str, str, str]]:
    """(resource, where, ARN) for each ARN naming another account or region, in a resource's id, inputs or outputs
    (`where` without the inputs/outputs level, so both give one row) or a stack's outputs. StackReferences are left
    out: they hold another stack's outputs (see the test of them below)."""
    found = set()
    for (layer, stack_env), rendered_stack in rendered.items():
        if stack_env != environment.name:
            continue
        records = [(f"{layer} outputs", {"": rendered_stack.outputs})]
        records += [
            (r.name, {"": {"id": r.id}, "inputs": r.inputs, "outputs": r.outputs})
            for r in rendered_stack.resources
            if r.type != STACK_REFERENCE
        ]
        for name, parts in records:
            for part in parts.values():
                for path, text in _leaves(part):
                    for arn in ARN.finditer(text):
                        if _foreign(environment, arn):
                            found.add((name, ".".join(path), arn.group(0)))
    return found


def expected_foreign_arns(settings: Settings, env: str) -> set[tuple[str, str, str]]:
    """The cross-environment grants replication needs, and nothing else; those naming another account or region
    (none in a single-account profile) are what `foreign_arns` may find."""
    environment = settings.env(env)
    expected: set[tuple[str, str, str]] = set()
    if env in settings.source.replication.targets:
        # the writer role trusts the source's replicator and drift checker
        expected |= {
            ("replica-writer-role", "assumeRolePolicy.Statement.Principal.AWS", arn)
            for arn in trusted_source_roles(settings)
        }
    if env == settings.source.name:
        for arn in writer_role_arns(settings):
            expected |= {
                # the source bucket lets the writer roles read the replicated prefixes
                ("data-tls-only", "policy.Statement.Principal.AWS", arn),
                # the replicator and the drift checker may assume them
                ("replicator-function-policy", "policy.Statement.Resource", arn),
                ("drift-checker-function-policy", "policy.Statement.Resource", arn),
                # and are told them in REPLICATION_TARGETS
                ("replicator-function-function", "environment.variables.REPLICATION_TARGETS.writer_role_arn", arn),
                ("drift-checker-function-function", "environment.variables.REPLICATION_TARGETS.writer_role_arn", arn),
                ("replicator", "targets_json.writer_role_arn", arn),
            }
    return {row for row in expected if any(_foreign(environment, arn) for arn in ARN.finditer(row[2]))}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_arns_name_the_environments_account_and_region_but_for_the_replication_grants(
    profile: tuple[Settings, Rendered], env: str
) -> None:
    settings, rendered = profile
    assert foreign_arns(rendered, settings.env(env)) == expected_foreign_arns(settings, env)


def test_the_multi_account_profile_has_cross_account_grants_to_find(multi_settings: Settings) -> None:
    # Guards the check above: in this profile each replication grant crosses accounts.
    assert {len(expected_foreign_arns(multi_settings, env)) for env in ("dev", "staging")} == {2}
    assert len(expected_foreign_arns(multi_settings, "prod")) == 12


def test_stack_references_hold_only_the_referenced_environments_arns(
    multi_settings: Settings, multi_rendered: Rendered
) -> None:
    seen = set()
    for (_, env), rendered_stack in multi_rendered.items():
        for reference in rendered_stack.of_type(STACK_REFERENCE):
            referenced = multi_settings.env(reference.inputs["name"].rsplit("/", 1)[1])
            arns = [arn for _, text in _leaves(reference.outputs) for arn in ARN.finditer(text)]
            assert arns, reference.urn
            assert not [a.group(0) for a in arns if _foreign(referenced, a)], reference.urn
            if referenced.name != env:
                seen.add((env, referenced.name))
    # only the source reads other environments' stacks: its targets' storage
    assert seen == {("prod", "dev"), ("prod", "staging")}


def test_the_source_grants_name_the_writer_roles_in_their_statements(
    multi_settings: Settings, multi_rendered: Rendered
) -> None:
    writers = sorted(writer_role_arns(multi_settings))
    bucket_policy = decoded(only(multi_rendered, "prod", "data-tls-only").inputs["policy"])
    [readers] = [s for s in bucket_policy["Statement"] if s.get("Sid") == "ReplicaWritersReadReplicatedPrefixes"]
    assert (readers["Effect"], sorted(readers["Principal"]["AWS"])) == ("Allow", writers)
    for name in ("replicator-function-policy", "drift-checker-function-policy"):
        policy = decoded(only(multi_rendered, "prod", name).inputs["policy"])
        [assume] = [s for s in policy["Statement"] if s.get("Sid") == "AssumeWriterRoles"]
        assert (assume["Action"], sorted(assume["Resource"])) == (["sts:AssumeRole"], writers), name


# -- the writer roles' trust ------------------------------------------------------------------------------------


def writer_trust(rendered: Rendered, env: str) -> dict[str, Any]:
    [role] = [r for r in stack(rendered, "storage", env).of_type(ROLE) if r.name == "replica-writer-role"]
    trust: dict[str, Any] = decoded(role.inputs["assumeRolePolicy"])
    return trust


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_the_writer_role_trusts_prods_roles_from_within_the_organization(
    multi_settings: Settings, multi_rendered: Rendered, env: str
) -> None:
    [statement] = writer_trust(multi_rendered, env)["Statement"]
    source = multi_settings.source
    assert statement["Principal"] == {"AWS": trusted_source_roles(multi_settings)}
    assert (
        {arn.split(":")[4] for arn in statement["Principal"]["AWS"]}
        == {source.account_id}
        != {multi_settings.env(env).account_id}
    )
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": multi_settings.project.organization_id}}
    assert multi_settings.project.organization_id == "o-pipelinedemo"


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_with_an_external_id_the_trust_requires_it_too(
    external_id_rendered: Rendered, external_id_profile: Path, env: str
) -> None:
    settings = load_settings(external_id_profile)
    [statement] = writer_trust(external_id_rendered, env)["Statement"]
    assert statement["Principal"] == {"AWS": trusted_source_roles(settings)}
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-pipelinedemo", "sts:ExternalId": REPLICATION_EXTERNAL_ID}
    }


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_without_organization_or_external_id_the_trust_has_no_condition(rendered: Rendered, env: str) -> None:
    [statement] = writer_trust(rendered, env)["Statement"]
    assert "Condition" not in statement
    assert len(statement["Principal"]["AWS"]) == 2


# -- REPLICATION_TARGETS ----------------------------------------------------------------------------------------


def replication_targets(rendered: Rendered, function: str = "replicator-function-function") -> list[dict[str, Any]]:
    variables = only(rendered, "prod", function).inputs["environment"]["variables"]
    targets: list[dict[str, Any]] = json.loads(variables["REPLICATION_TARGETS"])
    return targets


def test_replication_targets_rewrite_prods_account_and_region_to_each_targets(
    multi_settings: Settings, multi_rendered: Rendered
) -> None:
    source = multi_settings.source
    source_names = names(multi_settings, source.name)
    described = replication_targets(multi_rendered)
    assert [t["environment"] for t in described] == source.replication.targets == ["dev", "staging"]
    for target in described:
        env = multi_settings.env(target["environment"])
        target_names = names(multi_settings, env.name)
        assert target["region"] == env.region != source.region
        assert target["writer_role_arn"] == target_names.role_arn("replica-writer")
        assert (target["bucket"], target["config_table"]) == (target_names.bucket, target_names.config_table)
        assert "external_id" not in target
        pairs = target["replacements"]
        assert sorted(map(tuple, pairs)) == sorted(
            [
                (source_names.bucket, target_names.bucket),
                (name_token(source.name, source.suffix), name_token(env.name, env.suffix)),
                (source.account_id, env.account_id),
                (source.region, env.region),
            ]
        )
        assert [source.account_id, env.account_id] in pairs and [source.region, env.region] in pairs
        assert [len(a) for a, _ in pairs] == sorted((len(a) for a, _ in pairs), reverse=True)  # longest first
    # the drift checker and the component's output carry the same document
    assert replication_targets(multi_rendered, "drift-checker-function-function") == described
    assert json.loads(only(multi_rendered, "prod", "replicator").outputs["targets_json"]) == described


def test_replication_targets_carry_the_external_id(external_id_rendered: Rendered, external_id_profile: Path) -> None:
    settings = load_settings(external_id_profile)
    for function in ("replicator-function-function", "drift-checker-function-function"):
        described = replication_targets(external_id_rendered, function)
        assert [(t["environment"], t["external_id"]) for t in described] == [
            ("dev", REPLICATION_EXTERNAL_ID),
            ("staging", REPLICATION_EXTERNAL_ID),
        ]
    # The tool builds the same targets (drift --live, resync) from the storage stacks' outputs.
    outputs = {env: stack(external_id_rendered, "storage", env).outputs for env in ENVIRONMENTS}
    assert data_targets(settings, outputs, ["dev", "staging"]) == parse_targets(described)


class FakeSts:
    """Records AssumeRole calls; credentials valid for an hour."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def assume_role(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        number = len(self.calls)
        return {
            "Credentials": {
                "AccessKeyId": f"ASIA{number}",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": datetime.now(UTC) + timedelta(hours=1),
            }
        }


@pytest.mark.parametrize("with_external_id", [True, False])
def test_the_replicator_passes_the_external_id_when_it_assumes_a_writer_role(
    multi_rendered: Rendered, external_id_rendered: Rendered, with_external_id: bool
) -> None:
    rendered = external_id_rendered if with_external_id else multi_rendered
    targets = parse_targets(replication_targets(rendered))
    sts = FakeSts()
    provider = AssumeRoleCredentialsProvider(sts)  # type: ignore[arg-type]
    first = [provider(target) for target in targets]
    again = [provider(target) for target in targets]
    assert first == again  # cached until shortly before they expire
    assert [c.access_key_id for c in first if c is not None] == ["ASIA1", "ASIA2"]
    extra = {"ExternalId": REPLICATION_EXTERNAL_ID} if with_external_id else {}
    assert sts.calls == [
        {"RoleArn": t.writer_role_arn, "RoleSessionName": "pipeline-replicator", "DurationSeconds": 3600, **extra}
        for t in targets
    ]


# -- guardrails, IAM lint, drift --------------------------------------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_guardrails_pass_every_environment(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: str
) -> None:
    code, out, err = run_cli(
        monkeypatch, capsys, "policy", "check", "--env", env, "--config", str(MULTI_ACCOUNT), "--format", "json"
    )
    assert (code, json.loads(out)) == (0, []), err


def test_parliament_finds_nothing_in_the_profiles_policies(
    multi_rendered: Rendered, external_id_rendered: Rendered
) -> None:
    policies = rendered_policies(multi_rendered)
    assert len(policies) >= 15, len(policies)
    problems = {urn: found for urn, document in policies if (found := findings(document))}
    assert problems == {}
    trusts = trust_policies(multi_rendered) + trust_policies(
        {key: s for key, s in external_id_rendered.items() if key[0] == "storage" and key[1] != "prod"}
    )
    assert len(trusts) == 13, len(trusts)  # the 11 of test_iam_lint, and the two writer roles with an external id
    conditioned = [urn for urn, document in trusts if "Condition" in document["Statement"][0]]
    assert len(conditioned) == 4, conditioned
    problems = {urn: found for urn, document in trusts if (found := findings(as_identity_policy(document), trust=True))}
    assert problems == {}


def test_offline_drift_of_the_profile_finds_only_approved_differences(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        monkeypatch, capsys, "drift", "--config", str(MULTI_ACCOUNT), "--no-cache", "--format", "json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert (report["has_drift"], report["summary"]["drift"], report["repairs"]) == (False, 0, [])
    approved = {(d["environment"], d["path"]) for d in report["differences"] if d["category"] == "settings"}
    # what makes this profile multi-account is compared, and approved
    for env in ("dev", "staging"):
        assert {(env, "region"), (env, "account_id"), (env, "deployment.role_arn")} <= approved


@pytest.fixture(scope="module")
def vpc_multi_rendered(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    """The multi-account profile with the VPC profile's networks: prod's functions reach the targets' accounts
    through its endpoints."""
    config_dir = tmp_path_factory.mktemp("vpc-multi") / "shared_config"
    shutil.copytree(MULTI_ACCOUNT, config_dir)
    for env in ENVIRONMENTS:
        network = yaml.safe_load((ROOT / "examples" / "vpc" / "shared_config" / f"{env}.yaml").read_text())["network"]
        data = yaml.safe_load((config_dir / f"{env}.yaml").read_text())
        data["network"] = network
        (config_dir / f"{env}.yaml").write_text(yaml.safe_dump(data))
    return render_profile(workspace, config_dir, [("storage", "dev"), ("storage", "staging"), ("storage", "prod")])


@pytest.mark.parametrize("service", ["s3", "dynamodb", "sts"])
def test_prods_endpoints_admit_the_writer_roles_of_the_targets_accounts(
    vpc_multi_rendered: Rendered, service: str
) -> None:
    prod = vpc_multi_rendered[("storage", "prod")]
    [endpoint] = [
        r
        for r in prod.resources
        if r.type == "aws:ec2/vpcEndpoint:VpcEndpoint" and str(r.inputs["serviceName"]).endswith(f".{service}")
    ]
    statements = json.loads(endpoint.inputs["policy"])["Statement"]
    allowed = [s for s in statements if s["Effect"] == "Allow"]
    assert allowed, f"prod's {service} endpoint allows nothing"
    # The replicator's session of a target's writer role is a principal of the target's account: without it in
    # aws:PrincipalAccount the endpoint would refuse every cross-account write.
    for statement in allowed:
        accounts = set(statement["Condition"]["StringEquals"]["aws:PrincipalAccount"])
        assert accounts == {"111111111111", "222222222222", "333333333333"}, statement["Sid"]
    resources = json.dumps([s["Resource"] for s in allowed])
    if service == "sts":
        assert "arn:aws:iam::111111111111:role/iam-replica-writer-dev-pl01" in resources
        assert "arn:aws:iam::222222222222:role/iam-replica-writer-staging-pl01" in resources
    else:
        assert "staging" in resources and "dev" in resources
