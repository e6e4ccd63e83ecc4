"""Rules for functions in a VPC: every function of a networked environment is in it, and the endpoints'
policies name their resources (a `*` only for the actions that support no resource-level permission)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline_infra_tools.guardrails.documents import as_list, as_mapping, statements
from pipeline_infra_tools.guardrails.model import ResourceRule, StackRule

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from pipeline_infra_tools.guardrails.model import Resource

FUNCTION_TYPE = "aws:lambda/function:Function"
VPC_ENDPOINT_TYPE = "aws:ec2/vpcEndpoint:VpcEndpoint"
# Actions an endpoint policy may allow on Resource "*": they support no resource-level permission
# (CloudWatch's PutMetricData, narrowed by namespace; X-Ray's trace upload). pipeline_infra.policies holds the
# same list as ENDPOINT_WILDCARD_ACTIONS; a unit test keeps the two equal (the policy pack runs without the library).
DOCUMENTED_WILDCARD_ACTIONS = frozenset(
    {"cloudwatch:PutMetricData", "xray:PutTelemetryRecords", "xray:PutTraceSegments"}
)
MIN_SUBNETS = 2


def _vpc_problem(function: Resource) -> str | None:
    config = as_mapping(function.get("vpcConfig")) or {}
    subnets, groups = as_list(config.get("subnetIds")), as_list(config.get("securityGroupIds"))
    if not subnets:
        return "no vpcConfig in an environment whose functions run in a VPC: it would reach AWS over the internet"
    if len(subnets) < MIN_SUBNETS:
        return f"vpcConfig names {len(subnets)} subnet; at least {MIN_SUBNETS}, in different availability zones"
    if not groups:
        return "vpcConfig names no security group"
    return None


def functions_in_vpc(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    """Where anything in view says the environment is networked (an endpoint, a function in a VPC), every
    function in view is in the VPC. A stack with no such sign is not judged: its network lives in storage."""
    functions = [r for r in resources if r.type == FUNCTION_TYPE]
    networked = any(r.type == VPC_ENDPOINT_TYPE for r in resources) or any(
        (as_mapping(f.get("vpcConfig")) or {}).get("subnetIds") for f in functions
    )
    if not networked:
        return
    for function in functions:
        problem = _vpc_problem(function)
        if problem:
            yield function, problem


def endpoint_policy_resources(resource: Resource) -> list[str]:
    policy = resource.get("policy")
    if not policy:
        return ["no policy: an endpoint's default policy allows every action on every resource"]
    found = statements(policy)
    if found is None:
        return ["policy is not a readable policy document"]
    reasons = []
    for index, statement in enumerate(found):
        if statement.get("Effect") != "Allow":
            continue
        label = statement.get("Sid") or f"#{index}"
        actions = {str(action) for action in as_list(statement.get("Action"))}
        if "*" in as_list(statement.get("Resource")) and not actions <= DOCUMENTED_WILDCARD_ACTIONS:
            undocumented = sorted(actions - DOCUMENTED_WILDCARD_ACTIONS)
            reasons.append(
                f"policy statement {label} allows {', '.join(undocumented)} on Resource '*': name the resources"
            )
        if "NotResource" in statement:
            reasons.append(f"policy statement {label} allows every resource but its NotResource list")
    return reasons


NETWORK_RULES = (
    StackRule(
        name="lambda-in-vpc",
        description="In an environment with a VPC, every function has a vpcConfig (two or more subnets, a group).",
        types=(FUNCTION_TYPE,),
        check=functions_in_vpc,
    ),
    ResourceRule(
        name="endpoint-policy-resources",
        description="Every VPC endpoint has a policy naming its resources ('*' only for documented actions).",
        types=(VPC_ENDPOINT_TYPE,),
        check=endpoint_policy_resources,
    ),
)
