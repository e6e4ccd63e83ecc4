"""The rendered graph in both shapes: the shipped profile (no VPC) and the VPC profile, in every environment.

With a VPC: every function has a vpcConfig (the environment's subnets, the project's security group first),
its role the network-interface grants; storage creates the functions' and the endpoints' security groups,
gateway endpoints for S3 and DynamoDB on the route tables, interface endpoints (private DNS) for SQS, SNS, STS,
CloudWatch Logs, CloudWatch and EventBridge, and X-Ray where tracing is on; each endpoint policy names this
environment's resources (and, in prod, the targets' buckets, tables and writer roles).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra.policies import ENDPOINT_WILDCARD_ACTIONS, NETWORK_INTERFACE_WILDCARD_ACTIONS, WILDCARD_ACTIONS
from pipeline_infra_tools.drift import Status, compare_structure
from pipeline_infra_tools.guardrails.check import check_document
from pipeline_infra_tools.guardrails.network_rules import DOCUMENTED_WILDCARD_ACTIONS
from tests.unit.conftest import ENVIRONMENTS, stack

if TYPE_CHECKING:
    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.engine import RecordedResource
    from tests.unit.conftest import RenderedStack

Rendered = dict[tuple[str, str], "RenderedStack"]
FUNCTION = "aws:lambda/function:Function"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
NETWORK_TYPES = (ENDPOINT, GROUP, INGRESS, EGRESS)
INTERFACE_SERVICES = {"sqs", "sns", "sts", "logs", "monitoring", "events"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resources(rendered: Rendered, env: str, type_: str) -> list[RecordedResource]:
    return [r for (_layer, e), s in rendered.items() if e == env for r in s.of_type(type_)]


def statements(resource: RecordedResource, key: str = "policy") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(resource.inputs[key])["Statement"]
    return found


def endpoints(rendered: Rendered, env: str) -> dict[str, RecordedResource]:
    return {r.inputs["serviceName"].rsplit(".", 1)[1]: r for r in resources(rendered, env, ENDPOINT)}


# -- without a VPC ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_without_a_network_nothing_of_it_is_rendered(rendered: Rendered, env: str) -> None:
    for type_ in NETWORK_TYPES:
        assert resources(rendered, env, type_) == [], type_
    for function in resources(rendered, env, FUNCTION):
        assert function.inputs.get("vpcConfig") is None, function.urn
    for policy in resources(rendered, env, "aws:iam/rolePolicy:RolePolicy"):
        actions = {a for s in statements(policy) for a in _as_list(s["Action"])}
        assert not any(a.startswith("ec2:") for a in actions), policy.urn
    assert "function_security_group_id" not in stack(rendered, "storage", env).outputs


# -- with a VPC ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_function_runs_in_the_environments_subnets_with_the_projects_group(
    vpc_rendered: Rendered, vpc_settings: Settings, env: str
) -> None:
    network = vpc_settings.env(env).network
    assert network is not None
    group = stack(vpc_rendered, "storage", env).outputs["function_security_group_id"]
    [functions_group] = [g for g in resources(vpc_rendered, env, GROUP) if g.name == "network-functions"]
    assert group == functions_group.id
    functions = resources(vpc_rendered, env, FUNCTION)
    assert len(functions) == (4 if env == "prod" else 2)
    for function in functions:
        assert function.inputs["vpcConfig"] == {"subnetIds": network.subnet_ids, "securityGroupIds": [group]}, (
            function.urn
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_execution_roles_get_the_network_interface_grants_scoped_as_aws_allows(
    vpc_rendered: Rendered, vpc_settings: Settings, env: str
) -> None:
    settings = vpc_settings.env(env)
    assert settings.network is not None
    group = stack(vpc_rendered, "storage", env).outputs["function_security_group_id"]
    ec2 = f"arn:aws:ec2:{settings.region}:{settings.account_id}"
    policies = [p for p in resources(vpc_rendered, env, "aws:iam/rolePolicy:RolePolicy") if "writer" not in p.name]
    function_policies = [p for p in policies if "pipe" not in p.name]
    assert len(function_policies) == (4 if env == "prod" else 2)
    for policy in function_policies:
        by_sid = {s["Sid"]: s for s in statements(policy)}
        create = by_sid["CreateNetworkInterfaces"]
        assert create["Action"] == ["ec2:CreateNetworkInterface"]
        assert create["Resource"] == [
            f"{ec2}:network-interface/*",
            *[f"{ec2}:subnet/{subnet}" for subnet in settings.network.subnet_ids],
            f"{ec2}:security-group/{group}",
        ]
        manage = by_sid["ManageNetworkInterfaces"]
        assert manage["Action"] == [
            "ec2:AssignPrivateIpAddresses",
            "ec2:DeleteNetworkInterface",
            "ec2:UnassignPrivateIpAddresses",
        ]
        assert manage["Resource"] == [f"{ec2}:network-interface/*"]
        # The only "*": the Describe calls, which support no resource-level permission (and X-Ray where on).
        wildcard = {s["Sid"]: s["Action"] for s in statements(policy) if "*" in _as_list(s["Resource"])}
        expected = {"DescribeNetworkInterfaces": sorted(NETWORK_INTERFACE_WILDCARD_ACTIONS)}
        if settings.functions.tracing:
            expected["UploadTraces"] = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
        assert wildcard == expected, policy.urn
        assert set(NETWORK_INTERFACE_WILDCARD_ACTIONS) <= set(WILDCARD_ACTIONS)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_endpoints_the_functions_need_and_only_those(
    vpc_rendered: Rendered, vpc_settings: Settings, env: str
) -> None:
    settings = vpc_settings.env(env)
    assert settings.network is not None
    found = endpoints(vpc_rendered, env)
    expected = INTERFACE_SERVICES | {"s3", "dynamodb"} | ({"xray"} if settings.functions.tracing else set())
    assert set(found) == expected
    groups = {g.name: g.id for g in resources(vpc_rendered, env, GROUP)}
    for service, endpoint in found.items():
        assert endpoint.inputs["vpcId"] == settings.network.vpc_id
        assert endpoint.inputs["serviceName"] == f"com.amazonaws.{settings.region}.{service}"
        if service in ("s3", "dynamodb"):
            assert endpoint.inputs["vpcEndpointType"] == "Gateway"
            assert endpoint.inputs["routeTableIds"] == settings.network.route_table_ids
        else:
            assert endpoint.inputs["vpcEndpointType"] == "Interface"
            assert endpoint.inputs["privateDnsEnabled"] is True
            assert endpoint.inputs["subnetIds"] == settings.network.subnet_ids
            assert endpoint.inputs["securityGroupIds"] == [groups["network-endpoints"]]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_functions_group_has_no_ingress_and_only_https_egress_to_the_endpoints(
    vpc_rendered: Rendered, env: str
) -> None:
    groups = {g.name: g.id for g in resources(vpc_rendered, env, GROUP)}
    functions, endpoint_group = groups["network-functions"], groups["network-endpoints"]
    ingress = [r.inputs for r in resources(vpc_rendered, env, INGRESS)]
    assert [(r["securityGroupId"], r["referencedSecurityGroupId"]) for r in ingress] == [(endpoint_group, functions)]
    gateways = {
        service: e.outputs["prefixListId"]
        for service, e in endpoints(vpc_rendered, env).items()
        if service in ("s3", "dynamodb")
    }
    egress = [r.inputs for r in resources(vpc_rendered, env, EGRESS)]
    assert all(r["securityGroupId"] == functions for r in egress)
    assert all((r["ipProtocol"], r["fromPort"], r["toPort"]) == ("tcp", 443, 443) for r in ingress + egress)
    peers = sorted(str(r.get("referencedSecurityGroupId") or r.get("prefixListId")) for r in egress)
    assert peers == sorted([endpoint_group, gateways["s3"], gateways["dynamodb"]])
    assert not any(r.get("cidrIpv4") or r.get("cidrIpv6") for r in egress)


def _arns(document: list[dict[str, Any]]) -> set[str]:
    return {arn for s in document if s["Effect"] == "Allow" for arn in _as_list(s["Resource"])}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_endpoint_policies_name_this_environments_resources(
    vpc_rendered: Rendered, vpc_settings: Settings, env: str
) -> None:
    settings = vpc_settings.env(env)
    found = {service: statements(e) for service, e in endpoints(vpc_rendered, env).items()}
    rendered_arns = {
        r.outputs.get("arn")
        for (_l, e), s in vpc_rendered.items()
        if e == env
        for r in s.resources
        if r.outputs.get("arn")
    }
    storage = stack(vpc_rendered, "storage", env).outputs
    targets = vpc_settings.env(env).replication.targets
    # S3: this environment's bucket (and, in prod, the targets' buckets the replicas are written to)
    buckets = [storage["bucket_arn"], *[stack(vpc_rendered, "storage", t).outputs["bucket_arn"] for t in targets]]
    assert _arns(found["s3"]) == {arn for b in buckets for arn in (b, f"{b}/*")}
    # DynamoDB: this environment's tables (and, in prod, the targets' config tables)
    tables = {r.outputs["arn"] for r in resources(vpc_rendered, env, "aws:dynamodb/table:Table")}
    replica_tables = {stack(vpc_rendered, "storage", t).outputs["config_table_arn"] for t in targets}
    assert _arns(found["dynamodb"]) == tables | replica_tables
    # SQS, SNS, Logs, EventBridge: ARNs built from names, each that of a resource the environment renders
    for service in ("sqs", "sns", "events"):
        assert _arns(found[service]) <= rendered_arns | {
            f"arn:aws:events:{settings.region}:{settings.account_id}:event-bus/default"
        }, service
    log_groups = {f"{r.outputs['arn']}:*" for r in resources(vpc_rendered, env, "aws:cloudwatch/logGroup:LogGroup")}
    assert _arns(found["logs"]) == log_groups
    # STS: the writer roles prod's replicator and drift checker assume; elsewhere nothing passes
    writers = {stack(vpc_rendered, "storage", t).outputs["replica_writer_role_arn"] for t in targets}
    if writers:
        assert _arns(found["sts"]) == writers
    else:
        assert [s["Effect"] for s in found["sts"]] == ["Deny"]
    # Every Allow is for principals of the environments' own accounts
    accounts = sorted({settings.account_id, *(vpc_settings.env(t).account_id for t in targets)})
    for service, document in found.items():
        for statement in document:
            if statement["Effect"] == "Allow":
                assert statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == accounts, service


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_only_wildcard_resources_in_endpoint_policies_are_the_documented_ones(
    vpc_rendered: Rendered, env: str
) -> None:
    wildcards = {}
    for service, endpoint in endpoints(vpc_rendered, env).items():
        for statement in statements(endpoint):
            if statement["Effect"] == "Allow" and "*" in _as_list(statement["Resource"]):
                wildcards[service] = statement
    # CloudWatch's PutMetricData (narrowed to the project's namespace) and X-Ray's trace upload support no
    # resource-level permission.
    assert set(wildcards) == {"monitoring"} | ({"xray"} if "xray" in endpoints(vpc_rendered, env) else set())
    assert wildcards["monitoring"]["Action"] == ["cloudwatch:PutMetricData"]
    assert wildcards["monitoring"]["Condition"]["StringEquals"]["cloudwatch:namespace"] == "PipelineInfra"
    for statement in wildcards.values():
        assert set(statement["Action"]) <= set(ENDPOINT_WILDCARD_ACTIONS)


def test_the_guardrail_and_the_library_document_the_same_endpoint_wildcards() -> None:
    assert set(ENDPOINT_WILDCARD_ACTIONS) == DOCUMENTED_WILDCARD_ACTIONS


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_vpc_profile_passes_every_guardrail(vpc_rendered: Rendered, env: str) -> None:
    stacks = [s.result.to_json() for (_, stack_env), s in vpc_rendered.items() if stack_env == env]
    report = check_document({"environment": env, "stacks": stacks})
    assert [json.dumps(v.to_json()) for v in report.violations] == []
    judged_nothing = {name for name, count in report.judged.items() if count == 0}
    assert judged_nothing == (set() if env == "prod" else {"pipe-source-dlq"}), judged_nothing


def test_a_function_left_out_of_the_vpc_fails_the_guardrail(vpc_rendered: Rendered) -> None:
    stacks = [s.result.to_json() for (_, env), s in vpc_rendered.items() if env == "dev"]
    for document in stacks:
        for resource in document["resources"]:
            if resource["type"] == FUNCTION and resource["name"] == "processing-validator-function":
                resource["inputs"].pop("vpcConfig")
    report = check_document({"environment": "dev", "stacks": stacks})
    assert [(v.rule, v.name) for v in report.violations] == [("lambda-in-vpc", "processing-validator-function")]


def test_networks_of_the_same_shape_are_no_drift_and_tracing_explains_the_xray_endpoint(
    vpc_rendered: Rendered, vpc_settings: Settings
) -> None:
    documents = {key: s.result.to_json() for key, s in vpc_rendered.items()}
    differences = compare_structure(vpc_settings, ENVIRONMENTS, "prod", documents)
    drift = [d for d in differences if d.status is Status.DRIFT]
    assert drift == [], [(d.environment, d.resource, d.path, d.values) for d in drift]
    approved = {(d.environment, d.resource, d.path) for d in differences}
    assert ("dev", "network-xray", "(resource)") in approved
    assert ("dev", "network-xray-endpoint", "(resource)") in approved


def test_a_vpc_in_prod_only_is_structural_drift_until_approved(
    rendered: Rendered, vpc_rendered: Rendered, settings: Settings
) -> None:
    # GIVEN prod rendered with its VPC and dev and staging without (the shipped profile)
    documents = {key: s.result.to_json() for key, s in rendered.items() if key[1] != "prod"}
    documents.update({key: s.result.to_json() for key, s in vpc_rendered.items() if key[1] == "prod"})
    # WHEN the structure is compared with the shipped approvals
    drift = [d for d in compare_structure(settings, ENVIRONMENTS, "prod", documents) if d.status is Status.DRIFT]
    # THEN the network is part of the structure: the endpoints, groups and each function's vpcConfig differ
    paths = {(d.layer, d.resource, d.path) for d in drift if d.environment == "dev"}
    assert ("storage", "network-s3", "(resource)") in paths
    assert ("processing", "processing-validator-function", "vpcConfig.subnetIds") in paths
