"""Offline backend: ids and outputs as AWS would return them, computed from the inputs alone."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra_tools.engine.backend import ResourceRequest


def _digest(*parts: str, length: int = 8) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class RenderBackend:
    """Deterministic: the same program renders the same ids and ARNs every time."""

    account_id: str
    region: str

    def invoke(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:root",
                "userId": self.account_id,
            }
        if token == "aws:index/getRegion:getRegion":
            return {"name": self.region, "region": self.region, "id": self.region}
        if token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        return {}

    def create(self, request: ResourceRequest) -> tuple[str, dict[str, Any]]:
        region = request.region or self.region
        maker = _MAKERS.get(request.type, _generic)
        id_, extra = maker(request, self.account_id, region)
        outputs = {**request.inputs, **extra, "id": id_}
        if "tags" in request.inputs or request.default_tags:
            # AWS reports provider default tags merged with the resource's own in tagsAll.
            outputs["tagsAll"] = {**request.default_tags, **(request.inputs.get("tags") or {})}
        return id_, outputs


def _name(request: ResourceRequest, key: str = "name") -> str:
    return str(request.inputs.get(key) or request.name)


def _bucket(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    bucket = _name(request, "bucket")
    return bucket, {
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.{region}.amazonaws.com",
        "region": region,
        "hostedZoneId": "Z3AQBSTGFYJSTF",
    }


def _bucket_child(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    return str(request.inputs.get("bucket", request.name)), {}


def _table(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    table = _name(request)
    arn = f"arn:aws:dynamodb:{region}:{account}:table/{table}"
    extra: dict[str, Any] = {"arn": arn}
    if request.inputs.get("streamEnabled"):
        label = "2026-01-01T00:00:00.000"
        extra.update({"streamArn": f"{arn}/stream/{label}", "streamLabel": label})
    return table, extra


def _topic(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    arn = f"arn:aws:sns:{region}:{account}:{_name(request)}"
    return arn, {"arn": arn, "owner": account}


def _subscription(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    topic = str(request.inputs.get("topic", ""))
    arn = f"{topic}:{_digest(topic, str(request.inputs.get('endpoint')), length=36)}"
    return arn, {"arn": arn, "ownerId": account}


def _queue(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    queue = _name(request)
    url = f"https://sqs.{region}.amazonaws.com/{account}/{queue}"
    return url, {"arn": f"arn:aws:sqs:{region}:{account}:{queue}", "url": url}


def _queue_child(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    return str(request.inputs.get("queueUrl", request.name)), {}


def _function(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    function = _name(request)
    arn = f"arn:aws:lambda:{region}:{account}:function:{function}"
    return function, {
        "arn": arn,
        "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations",
        "qualifiedArn": f"{arn}:$LATEST",
        "version": "$LATEST",
        "sourceCodeHash": _digest(str(request.inputs.get("code")), length=44),
    }


def _log_group(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    group = _name(request)
    return group, {"arn": f"arn:aws:logs:{region}:{account}:log-group:{group}"}


def _role(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    role = _name(request)
    return role, {"arn": f"arn:aws:iam::{account}:role/{role}", "uniqueId": "AROA" + _digest(role, length=17).upper()}


def _role_policy(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    return f"{request.inputs.get('role')}:{_name(request)}", {}


def _event_rule(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    rule = _name(request)
    bus = str(request.inputs.get("eventBusName") or "default")
    path = rule if bus == "default" else f"{bus}/{rule}"
    return f"{bus}/{rule}" if bus != "default" else rule, {"arn": f"arn:aws:events:{region}:{account}:rule/{path}"}


def _event_bus(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    bus = _name(request)
    return bus, {"arn": f"arn:aws:events:{region}:{account}:event-bus/{bus}"}


def _event_target(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    return f"{request.inputs.get('rule')}-{request.inputs.get('targetId')}", {}


def _pipe(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    pipe = _name(request)
    return pipe, {"arn": f"arn:aws:pipes:{region}:{account}:pipe/{pipe}"}


def _security_group(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    # From the logical name only, so every environment renders the same id and drift compares the shape.
    group = f"sg-{_digest(request.name, length=17)}"
    return group, {"arn": f"arn:aws:ec2:{region}:{account}:security-group/{group}", "ownerId": account}


def _security_group_rule(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    rule = f"sgr-{_digest(request.name, length=17)}"
    return rule, {"arn": f"arn:aws:ec2:{region}:{account}:security-group-rule/{rule}", "securityGroupRuleId": rule}


def _vpc_endpoint(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    endpoint = f"vpce-{_digest(request.name, length=17)}"
    extra: dict[str, Any] = {"arn": f"arn:aws:ec2:{region}:{account}:vpc-endpoint/{endpoint}", "ownerId": account}
    if request.inputs.get("vpcEndpointType", "Gateway") == "Gateway":
        # A gateway service's AWS-managed prefix list, which egress rules name to reach it.
        service = str(request.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
        extra["prefixListId"] = f"pl-{_digest(service)}"
    return endpoint, extra


def _key(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    # From the logical name only, so the same key in two environments renders the same (keys have no name).
    digest = _digest(request.name, length=32)
    key_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return key_id, {"arn": f"arn:aws:kms:{region}:{account}:key/{key_id}", "keyId": key_id}


def _alarm(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    alarm = _name(request)
    return alarm, {"arn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{alarm}"}


def _dashboard(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    dashboard = _name(request, "dashboardName")
    return dashboard, {"dashboardArn": f"arn:aws:cloudwatch::{account}:dashboard/{dashboard}"}


def _generic(request: ResourceRequest, account: str, region: str) -> tuple[str, dict[str, Any]]:
    id_ = f"{request.name}-{_digest(request.urn)}"
    return id_, {}


_MAKERS: dict[str, Callable[[ResourceRequest, str, str], tuple[str, dict[str, Any]]]] = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketVersioning:BucketVersioning": _bucket_child,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _bucket_child,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _bucket_child,
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_child,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _bucket_child,
    "aws:s3/bucketNotification:BucketNotification": _bucket_child,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _bucket_child,
    "aws:dynamodb/table:Table": _table,
    "aws:sns/topic:Topic": _topic,
    "aws:sns/topicSubscription:TopicSubscription": _subscription,
    "aws:sqs/queue:Queue": _queue,
    "aws:sqs/queuePolicy:QueuePolicy": _queue_child,
    "aws:sqs/redrivePolicy:RedrivePolicy": _queue_child,
    "aws:lambda/function:Function": _function,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:cloudwatch/eventBus:EventBus": _event_bus,
    "aws:cloudwatch/eventTarget:EventTarget": _event_target,
    "aws:pipes/pipe:Pipe": _pipe,
    "aws:ec2/securityGroup:SecurityGroup": _security_group,
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": _security_group_rule,
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": _security_group_rule,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:kms/key:Key": _key,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _alarm,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
}
