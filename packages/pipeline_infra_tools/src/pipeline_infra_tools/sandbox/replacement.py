"""Which input changes make a new resource rather than an update, as the AWS provider's schema marks them
(ForceNew): a resource's name or identity, or the parent it hangs on. The local target replaces (creates the
new one, then deletes the old) where the provider would, and preview says so before anything changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

_RULE_CONTENT = (
    "securityGroupId",
    "ipProtocol",
    "fromPort",
    "toPort",
    "referencedSecurityGroupId",
    "prefixListId",
    "cidrIpv4",
    "cidrIpv6",
)
REPLACE_ON: dict[str, tuple[str, ...]] = {
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:dynamodb/table:Table": ("name",),
    "aws:sqs/queue:Queue": ("name", "fifoQueue"),
    "aws:sns/topic:Topic": ("name", "fifoTopic"),
    "aws:sns/topicSubscription:TopicSubscription": ("topic", "protocol", "endpoint"),
    "aws:iam/role:Role": ("name", "path"),
    "aws:iam/rolePolicy:RolePolicy": ("role", "name"),
    "aws:lambda/function:Function": ("name",),
    "aws:lambda/permission:Permission": ("function", "statementId", "action", "principal", "sourceArn"),
    "aws:lambda/eventSourceMapping:EventSourceMapping": ("eventSourceArn", "startingPosition"),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ("functionName", "qualifier"),
    "aws:cloudwatch/logGroup:LogGroup": ("name",),
    "aws:cloudwatch/eventBus:EventBus": ("name",),
    "aws:cloudwatch/eventRule:EventRule": ("name", "eventBusName"),
    "aws:cloudwatch/eventTarget:EventTarget": ("rule", "targetId", "eventBusName"),
    "aws:pipes/pipe:Pipe": ("name", "source"),
    "aws:ec2/securityGroup:SecurityGroup": ("name", "namePrefix", "description", "vpcId"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("vpcId", "serviceName", "vpcEndpointType"),
    # The provider changes a rule's peer, protocol and ports in place (ModifySecurityGroupRules); the local
    # target finds a rule by that content, so a change of it makes a new rule here (and removes the old one).
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _RULE_CONTENT,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _RULE_CONTENT,
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name",),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName",),
    "aws:kms/key:Key": ("keyUsage", "customerMasterKeySpec", "multiRegion"),
}


def forces_replacement(type_: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[str, ...]:
    """The inputs whose change replaces the resource (empty: an update in place, or no change)."""
    return tuple(key for key in REPLACE_ON.get(type_, ()) if before.get(key) != after.get(key))
