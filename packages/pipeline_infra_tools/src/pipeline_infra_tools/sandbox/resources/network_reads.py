"""Reading the functions' network back: security groups (and rules added to them by hand), their rules and
VPC endpoints (policy, routes, subnets, groups, private DNS), in pulumi-aws 7's input shapes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.resources.base import ignore_missing
from pipeline_infra_tools.sandbox.resources.network import (
    EGRESS_RULE,
    ENDPOINT_MISSING,
    GROUP_MISSING,
    INGRESS_RULE,
    RULE_MISSING,
    SECURITY_GROUP,
    VPC_ENDPOINT,
    rule_state,
)
from pipeline_infra_tools.sandbox.resources.reading import Extra, Inputs, Owned, ReadSpec, tag_state, tags_from_list

if TYPE_CHECKING:
    from pipeline_infra_tools.sandbox.resources.base import Outputs, ResourceContext


def read_security_group(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    found = ignore_missing(ctx.clients.ec2.describe_security_groups, *GROUP_MISSING, GroupIds=[id_])
    groups = (found or {}).get("SecurityGroups") or []
    if not groups:
        return None
    group = groups[0]
    read = {"name": group.get("GroupName"), "description": group.get("Description"), "vpcId": group.get("VpcId")}
    return {**read, **tag_state(tags_from_list(group.get("Tags")), inputs, outputs)}


def _rules(ctx: ResourceContext, group_id: str) -> list[dict[str, Any]]:
    filters = [{"Name": "group-id", "Values": [group_id]}]
    return list(ctx.clients.ec2.describe_security_group_rules(Filters=filters)["SecurityGroupRules"])


def security_group_extras(
    id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext, owned: Owned
) -> list[Extra]:
    """Rules of the group that no stack records: each opens traffic the code did not ask for."""
    found = []
    for rule in _rules(ctx, id_):
        rule_id = str(rule["SecurityGroupRuleId"])
        if ("security-group-rule", id_, rule_id) not in owned:
            direction = "egress" if rule.get("IsEgress") else "ingress"
            shown = {key: value for key, value in rule_state(rule).items() if value is not None}
            found.append(Extra("security-group-rule", f"{id_}/{rule_id}", f"{direction} {json.dumps(shown)}"))
    return found


def rule_key(id_: str, inputs: Inputs, outputs: Outputs) -> tuple[str, ...]:
    return ("security-group-rule", str(inputs["securityGroupId"]), id_)


def read_rule(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    found = ignore_missing(ctx.clients.ec2.describe_security_group_rules, *RULE_MISSING, SecurityGroupRuleIds=[id_])
    rules = (found or {}).get("SecurityGroupRules") or []
    if not rules:
        return None
    rule = rules[0]
    return {**rule_state(rule), **tag_state(tags_from_list(rule.get("Tags")), inputs, outputs)}


def read_vpc_endpoint(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    found = ignore_missing(ctx.clients.ec2.describe_vpc_endpoints, *ENDPOINT_MISSING, VpcEndpointIds=[id_])
    endpoints = [e for e in (found or {}).get("VpcEndpoints") or [] if e.get("State") not in ("deleted", "deleting")]
    if not endpoints:
        return None
    endpoint = endpoints[0]
    interface = endpoint.get("VpcEndpointType") == "Interface"
    read = {
        "vpcId": endpoint.get("VpcId"),
        "serviceName": endpoint.get("ServiceName"),
        "vpcEndpointType": endpoint.get("VpcEndpointType"),
        "policy": endpoint.get("PolicyDocument"),
        "routeTableIds": list(endpoint.get("RouteTableIds") or []),
        "subnetIds": list(endpoint.get("SubnetIds") or []),
        "securityGroupIds": [group["GroupId"] for group in endpoint.get("Groups") or []],
        # Private DNS is an interface endpoint's setting; a gateway endpoint has none to report.
        "privateDnsEnabled": endpoint.get("PrivateDnsEnabled") if interface else inputs.get("privateDnsEnabled"),
    }
    return {**read, **tag_state(tags_from_list(endpoint.get("Tags")), inputs, outputs)}


_RULE_SPEC = ReadSpec(read_rule, owns=rule_key)

READERS = {
    SECURITY_GROUP: ReadSpec(read_security_group, extras=security_group_extras),
    INGRESS_RULE: _RULE_SPEC,
    EGRESS_RULE: _RULE_SPEC,
    VPC_ENDPOINT: ReadSpec(
        read_vpc_endpoint,
        documents={"policy": "policy"},
        sets={"routeTableIds": "", "subnetIds": "", "securityGroupIds": ""},
    ),
}
