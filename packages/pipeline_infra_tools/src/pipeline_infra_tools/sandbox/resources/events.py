"""EventBridge buses, rules and targets, and CloudWatch Logs log groups."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.resources.base import (
    Outputs,
    ResourceContext,
    ResourceHandler,
    camel_to_pascal,
    drop_none,
    error_code,
    ignore_missing,
    integer,
    tag_list,
)

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest

DEFAULT_BUS = "default"
MISSING = ("ResourceNotFoundException",)
# Target inputs passed through as they are (after PascalCase) when present.
TARGET_FIELDS = ("input", "inputPath", "roleArn", "retryPolicy", "deadLetterConfig", "sqsTarget", "inputTransformer")


def create_log_group(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    logs, inputs = ctx.clients.logs, request.inputs
    name = str(inputs.get("name") or request.name)
    try:
        logs.create_log_group(logGroupName=name, **({"tags": ctx.tags} if ctx.tags else {}))
    except ClientError as err:
        if error_code(err) != "ResourceAlreadyExistsException":
            raise
        if ctx.tags:
            logs.tag_log_group(logGroupName=name, tags=ctx.tags)
    if inputs.get("retentionInDays"):
        logs.put_retention_policy(logGroupName=name, retentionInDays=integer(inputs["retentionInDays"]))
    else:
        logs.delete_retention_policy(logGroupName=name)
    # AWS's describe output ends the ARN with ":*"; the provider reports it without.
    return name, {"arn": f"arn:aws:logs:{ctx.region}:{ctx.account_id}:log-group:{name}"}


def delete_log_group(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.logs.delete_log_group, *MISSING, logGroupName=id_)


def create_event_bus(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    events = ctx.clients.events
    name = str(request.inputs.get("name") or request.name)
    try:
        arn = events.create_event_bus(Name=name, **({"Tags": tag_list(ctx.tags)} if ctx.tags else {}))["EventBusArn"]
    except ClientError as err:
        if error_code(err) != "ResourceAlreadyExistsException":
            raise
        arn = events.describe_event_bus(Name=name)["Arn"]
        if ctx.tags:
            events.tag_resource(ResourceARN=arn, Tags=tag_list(ctx.tags))
    return name, {"arn": arn}


def delete_event_bus(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.events.delete_event_bus, *MISSING, Name=id_)


def create_rule(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    inputs = request.inputs
    name = str(inputs.get("name") or request.name)
    bus = str(inputs.get("eventBusName") or DEFAULT_BUS)
    state = inputs.get("state") or ("DISABLED" if inputs.get("isEnabled") is False else "ENABLED")
    options = drop_none(
        {
            "Name": name,
            "EventBusName": bus,
            "EventPattern": inputs.get("eventPattern"),
            "ScheduleExpression": inputs.get("scheduleExpression"),
            "Description": inputs.get("description"),
            "RoleArn": inputs.get("roleArn"),
            "State": state,
        }
    )
    # PutRule creates or replaces the rule with that name on that bus.
    arn = ctx.clients.events.put_rule(**options, **({"Tags": tag_list(ctx.tags)} if ctx.tags else {}))["RuleArn"]
    return (name if bus == DEFAULT_BUS else f"{bus}/{name}"), {"arn": arn}


def delete_rule(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    events = ctx.clients.events
    bus, _, name = id_.rpartition("/")
    bus = bus or DEFAULT_BUS
    try:
        targets = events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
        if targets:
            events.remove_targets(Rule=name, EventBusName=bus, Ids=[t["Id"] for t in targets])
        events.delete_rule(Name=name, EventBusName=bus)
    except ClientError as err:
        if error_code(err) not in MISSING:
            raise


def create_target(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    inputs = request.inputs
    rule, target_id = str(inputs["rule"]), str(inputs.get("targetId") or request.name)
    target: dict[str, Any] = {"Id": target_id, "Arn": inputs["arn"]}
    for field in TARGET_FIELDS:
        if inputs.get(field) is not None:
            target[field[:1].upper() + field[1:]] = camel_to_pascal(inputs[field])
    # PutTargets replaces a target with the same Id.
    response = ctx.clients.events.put_targets(
        Rule=rule, EventBusName=str(inputs.get("eventBusName") or DEFAULT_BUS), Targets=[target]
    )
    if response.get("FailedEntryCount"):
        failure = response["FailedEntries"][0]
        raise ClientError({"Error": {"Code": failure["ErrorCode"], "Message": failure["ErrorMessage"]}}, "PutTargets")
    return f"{rule}-{target_id}", {"targetId": target_id}


def delete_target(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    bus = str(outputs.get("eventBusName") or DEFAULT_BUS)
    ignore_missing(
        ctx.clients.events.remove_targets, *MISSING, Rule=outputs["rule"], EventBusName=bus, Ids=[outputs["targetId"]]
    )


HANDLERS = {
    "aws:cloudwatch/logGroup:LogGroup": ResourceHandler(create_log_group, delete_log_group),
    "aws:cloudwatch/eventBus:EventBus": ResourceHandler(create_event_bus, delete_event_bus),
    "aws:cloudwatch/eventRule:EventRule": ResourceHandler(create_rule, delete_rule),
    "aws:cloudwatch/eventTarget:EventTarget": ResourceHandler(create_target, delete_target),
}
