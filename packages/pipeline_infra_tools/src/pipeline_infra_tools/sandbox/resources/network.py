"""The functions' network inside an existing VPC: security groups, their rules and VPC endpoints.

The VPC, subnets and route tables are the company's and never created here (`sandbox network` stands them up in
the emulator). Each create is an upsert, found again by what identifies it: a security group by its name in
its VPC, a rule by its content in its group, an endpoint by its VPC, service and this environment's tags (so a
company endpoint for the same service is never taken over).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.resources.base import (
    Outputs,
    ResourceContext,
    ResourceHandler,
    drop_none,
    ignore_missing,
    integer,
    tag_list,
)

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
GROUP_MISSING = ("InvalidGroup.NotFound", "InvalidGroupId.NotFound")
RULE_MISSING = ("InvalidSecurityGroupRuleId.NotFound", "InvalidPermission.NotFound", *GROUP_MISSING)
ENDPOINT_MISSING = ("InvalidVpcEndpointId.NotFound",)


def _tags(ec2: Any, resource_id: str, tags: dict[str, str]) -> None:
    if tags:
        ec2.create_tags(Resources=[resource_id], Tags=tag_list(tags))


# -- security groups ---------------------------------------------------------------------------------------
def _find_group(ec2: Any, vpc_id: str, name: str) -> dict[str, Any] | None:
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [name]}]
    groups = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
    return groups[0] if groups else None


def create_security_group(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    ec2, inputs = ctx.clients.ec2, request.inputs
    name, vpc_id = str(inputs.get("name") or request.name), str(inputs["vpcId"])
    found = _find_group(ec2, vpc_id, name)
    if found is None:
        group_id = ec2.create_security_group(
            GroupName=name,
            Description=str(inputs.get("description") or "Managed by Pulumi"),
            VpcId=vpc_id,
            **(
                {"TagSpecifications": [{"ResourceType": "security-group", "Tags": tag_list(ctx.tags)}]}
                if ctx.tags
                else {}
            ),
        )["GroupId"]
        # AWS opens every new group's egress to 0.0.0.0/0; the provider revokes that rule on create, as here,
        # so a group's only rules are the ones the code declares.
        _revoke_default_egress(ec2, group_id)
    else:
        group_id = found["GroupId"]
        _tags(ec2, group_id, ctx.tags)
    return group_id, {
        "arn": f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:security-group/{group_id}",
        "ownerId": ctx.account_id,
        "name": name,
    }


def _revoke_default_egress(ec2: Any, group_id: str) -> None:
    for rule in _group_rules(ec2, group_id):
        if rule.get("IsEgress") and rule.get("IpProtocol") == "-1" and rule.get("CidrIpv4") == "0.0.0.0/0":
            ec2.revoke_security_group_egress(GroupId=group_id, SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])


def _group_rules(ec2: Any, group_id: str) -> list[dict[str, Any]]:
    return list(
        ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroupRules"]
    )


def delete_security_group(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.ec2.delete_security_group, *GROUP_MISSING, GroupId=id_)


# -- security group rules ----------------------------------------------------------------------------------
def _permission(inputs: dict[str, Any]) -> dict[str, Any]:
    """The rule as IpPermissions: protocol, ports and exactly one peer (group, prefix list or CIDR)."""
    permission: dict[str, Any] = {"IpProtocol": str(inputs["ipProtocol"])}
    if inputs.get("fromPort") is not None:
        permission["FromPort"] = integer(inputs["fromPort"])
    if inputs.get("toPort") is not None:
        permission["ToPort"] = integer(inputs["toPort"])
    description = drop_none({"Description": inputs.get("description")})
    if inputs.get("referencedSecurityGroupId"):
        permission["UserIdGroupPairs"] = [{"GroupId": inputs["referencedSecurityGroupId"], **description}]
    elif inputs.get("prefixListId"):
        permission["PrefixListIds"] = [{"PrefixListId": inputs["prefixListId"], **description}]
    elif inputs.get("cidrIpv4"):
        permission["IpRanges"] = [{"CidrIp": inputs["cidrIpv4"], **description}]
    elif inputs.get("cidrIpv6"):
        permission["Ipv6Ranges"] = [{"CidrIpv6": inputs["cidrIpv6"], **description}]
    return permission


def rule_state(rule: dict[str, Any]) -> dict[str, Any]:
    """A rule as DescribeSecurityGroupRules reports it, in the provider's input shape."""
    referenced = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
    return {
        "securityGroupId": rule.get("GroupId"),
        "ipProtocol": rule.get("IpProtocol"),
        "fromPort": rule.get("FromPort"),
        "toPort": rule.get("ToPort"),
        "referencedSecurityGroupId": referenced,
        "prefixListId": rule.get("PrefixListId"),
        "cidrIpv4": rule.get("CidrIpv4"),
        "cidrIpv6": rule.get("CidrIpv6"),
        "description": rule.get("Description"),
    }


_PEER_KEYS = ("ipProtocol", "fromPort", "toPort", "referencedSecurityGroupId", "prefixListId", "cidrIpv4", "cidrIpv6")


def _same_rule(rule: dict[str, Any], inputs: dict[str, Any], egress: bool) -> bool:
    if bool(rule.get("IsEgress")) != egress:
        return False
    state = rule_state(rule)
    wanted = {key: inputs.get(key) for key in _PEER_KEYS}
    wanted["fromPort"] = integer(wanted["fromPort"]) if wanted["fromPort"] is not None else None
    wanted["toPort"] = integer(wanted["toPort"]) if wanted["toPort"] is not None else None
    return all(state.get(key) == value for key, value in wanted.items() if value is not None)


def _create_rule(request: ResourceRequest, ctx: ResourceContext, egress: bool) -> tuple[str, Outputs]:
    ec2, inputs = ctx.clients.ec2, request.inputs
    group_id = str(inputs["securityGroupId"])
    existing = next((r for r in _group_rules(ec2, group_id) if _same_rule(r, inputs, egress)), None)
    if existing is None:
        authorize = ec2.authorize_security_group_egress if egress else ec2.authorize_security_group_ingress
        tags = {"TagSpecifications": [{"ResourceType": "security-group-rule", "Tags": tag_list(ctx.tags)}]}
        created = authorize(GroupId=group_id, IpPermissions=[_permission(inputs)], **(tags if ctx.tags else {}))
        rule_id = str(created["SecurityGroupRules"][0]["SecurityGroupRuleId"])
        if inputs.get("description"):
            # Emulator gap: moto 5.2.5 keeps the description given to Authorize* on the group's IpPermissions
            # only, and DescribeSecurityGroupRules (which AWS answers with it) omits it; setting it on the rule
            # as well makes the rule read back as AWS would report it.
            ec2.modify_security_group_rules(
                GroupId=group_id,
                SecurityGroupRules=[{"SecurityGroupRuleId": rule_id, "SecurityGroupRule": _rule_request(inputs)}],
            )
    else:
        rule_id = str(existing["SecurityGroupRuleId"])
        if existing.get("Description") != inputs.get("description"):
            ec2.modify_security_group_rules(
                GroupId=group_id,
                SecurityGroupRules=[{"SecurityGroupRuleId": rule_id, "SecurityGroupRule": _rule_request(inputs)}],
            )
        _tags(ec2, rule_id, ctx.tags)
    return rule_id, {
        "arn": f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:security-group-rule/{rule_id}",
        "securityGroupRuleId": rule_id,
    }


def _rule_request(inputs: dict[str, Any]) -> dict[str, Any]:
    return drop_none(
        {
            "IpProtocol": inputs.get("ipProtocol"),
            "FromPort": integer(inputs["fromPort"]) if inputs.get("fromPort") is not None else None,
            "ToPort": integer(inputs["toPort"]) if inputs.get("toPort") is not None else None,
            "ReferencedGroupId": inputs.get("referencedSecurityGroupId"),
            "PrefixListId": inputs.get("prefixListId"),
            "CidrIpv4": inputs.get("cidrIpv4"),
            "CidrIpv6": inputs.get("cidrIpv6"),
            "Description": inputs.get("description"),
        }
    )


def create_ingress_rule(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    return _create_rule(request, ctx, egress=False)


def create_egress_rule(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    return _create_rule(request, ctx, egress=True)


def _delete_rule(id_: str, outputs: Outputs, ctx: ResourceContext, egress: bool) -> None:
    revoke = ctx.clients.ec2.revoke_security_group_egress if egress else ctx.clients.ec2.revoke_security_group_ingress
    ignore_missing(revoke, *RULE_MISSING, GroupId=str(outputs["securityGroupId"]), SecurityGroupRuleIds=[id_])


def delete_ingress_rule(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    _delete_rule(id_, outputs, ctx, egress=False)


def delete_egress_rule(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    _delete_rule(id_, outputs, ctx, egress=True)


# -- VPC endpoints -----------------------------------------------------------------------------------------
def _find_endpoint(ec2: Any, inputs: dict[str, Any], tags: dict[str, str]) -> dict[str, Any] | None:
    filters = [
        {"Name": "vpc-id", "Values": [inputs["vpcId"]]},
        {"Name": "service-name", "Values": [inputs["serviceName"]]},
    ]
    for endpoint in ec2.describe_vpc_endpoints(Filters=filters)["VpcEndpoints"]:
        held = {tag["Key"]: tag["Value"] for tag in endpoint.get("Tags") or []}
        if endpoint.get("State") not in ("deleted", "deleting") and all(held.get(k) == v for k, v in tags.items()):
            return dict(endpoint)
    return None


def _changes(current: list[str], wanted: list[str], add: str, remove: str) -> dict[str, list[str]]:
    return drop_none(
        {
            add: sorted(set(wanted) - set(current)) or None,
            remove: sorted(set(current) - set(wanted)) or None,
        }
    )


def create_vpc_endpoint(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    ec2, inputs = ctx.clients.ec2, request.inputs
    kind = str(inputs.get("vpcEndpointType") or "Gateway")
    found = _find_endpoint(ec2, inputs, ctx.tags) if ctx.tags else None
    subnets, groups = list(inputs.get("subnetIds") or []), list(inputs.get("securityGroupIds") or [])
    routes = list(inputs.get("routeTableIds") or [])
    if found is None:
        endpoint = ec2.create_vpc_endpoint(
            VpcId=inputs["vpcId"],
            ServiceName=inputs["serviceName"],
            VpcEndpointType=kind,
            **drop_none(
                {
                    "PolicyDocument": inputs.get("policy"),
                    "RouteTableIds": routes or None,
                    "SubnetIds": subnets or None,
                    "SecurityGroupIds": groups or None,
                    "PrivateDnsEnabled": bool(inputs["privateDnsEnabled"]) if kind == "Interface" else None,
                    "TagSpecifications": [{"ResourceType": "vpc-endpoint", "Tags": tag_list(ctx.tags)}]
                    if ctx.tags
                    else None,
                }
            ),
        )["VpcEndpoint"]
    else:
        endpoint = found
        ec2.modify_vpc_endpoint(
            VpcEndpointId=found["VpcEndpointId"],
            **drop_none({"PolicyDocument": inputs.get("policy")}),
            **_changes(found.get("RouteTableIds") or [], routes, "AddRouteTableIds", "RemoveRouteTableIds"),
            **_changes(found.get("SubnetIds") or [], subnets, "AddSubnetIds", "RemoveSubnetIds"),
            **_changes(
                [g["GroupId"] for g in found.get("Groups") or []],
                groups,
                "AddSecurityGroupIds",
                "RemoveSecurityGroupIds",
            ),
            **({"PrivateDnsEnabled": bool(inputs["privateDnsEnabled"])} if kind == "Interface" else {}),
        )
        _tags(ec2, found["VpcEndpointId"], ctx.tags)
    endpoint_id = str(endpoint["VpcEndpointId"])
    return endpoint_id, {
        "arn": f"arn:aws:ec2:{ctx.region}:{ctx.account_id}:vpc-endpoint/{endpoint_id}",
        "vpcEndpointType": kind,
        "prefixListId": _prefix_list(ec2, str(inputs["serviceName"])) if kind == "Gateway" else None,
        "ownerId": ctx.account_id,
        "state": endpoint.get("State", "available"),
    }


def _prefix_list(ec2: Any, service_name: str) -> str | None:
    """The AWS-managed prefix list of a gateway service, which egress rules name to reach it."""
    lists = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [service_name]}])["PrefixLists"]
    return str(lists[0]["PrefixListId"]) if lists else None


def delete_vpc_endpoint(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.ec2.delete_vpc_endpoints, *ENDPOINT_MISSING, VpcEndpointIds=[id_])


HANDLERS = {
    SECURITY_GROUP: ResourceHandler(create_security_group, delete_security_group),
    INGRESS_RULE: ResourceHandler(create_ingress_rule, delete_ingress_rule),
    EGRESS_RULE: ResourceHandler(create_egress_rule, delete_egress_rule),
    VPC_ENDPOINT: ResourceHandler(create_vpc_endpoint, delete_vpc_endpoint),
}
