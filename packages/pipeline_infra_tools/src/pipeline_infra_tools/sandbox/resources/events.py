"""EventBridge buses, rules and targets, and CloudWatch Logs log groups: created and read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.lambda_runtime.sources import TAP_TARGET_ID
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
from pipeline_infra_tools.sandbox.resources.reading import (
    Extra,
    Inputs,
    Owned,
    ReadSpec,
    pascal_to_camel,
    tag_state,
    tags_from_list,
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


def read_log_group(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    logs = ctx.clients.logs
    paginator = logs.get_paginator("describe_log_groups")
    groups = [g for page in paginator.paginate(logGroupNamePrefix=id_) for g in page.get("logGroups", [])]
    group = next((g for g in groups if g["logGroupName"] == id_), None)
    if group is None:
        return None
    tags = logs.list_tags_log_group(logGroupName=id_).get("tags") or {}
    read = {
        "name": id_,
        # No retention policy (events never expire) reads as None.
        "retentionInDays": group.get("retentionInDays"),
        "kmsKeyId": group.get("kmsKeyId"),
        "logGroupClass": group.get("logGroupClass"),
    }
    return {**read, **tag_state(tags, inputs, outputs)}


def read_event_bus(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    events = ctx.clients.events
    found = ignore_missing(events.describe_event_bus, *MISSING, Name=id_)
    if found is None:
        return None
    tags = tags_from_list(events.list_tags_for_resource(ResourceARN=found["Arn"]).get("Tags"))
    read = {"name": found["Name"], "description": found.get("Description")}
    return {**read, **tag_state(tags, inputs, outputs)}


def _rule_name(id_: str) -> tuple[str, str]:
    """(bus, rule) from a rule's id, `name` on the default bus or `bus/name` on another."""
    bus, _, name = id_.rpartition("/")
    return bus or DEFAULT_BUS, name


def read_rule(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    events = ctx.clients.events
    bus, name = _rule_name(id_)
    found = ignore_missing(events.describe_rule, *MISSING, Name=name, EventBusName=bus)
    if found is None:
        return None
    tags = tags_from_list(events.list_tags_for_resource(ResourceARN=found["Arn"]).get("Tags"))
    read = {
        "name": found["Name"],
        "eventBusName": found.get("EventBusName", DEFAULT_BUS),
        "eventPattern": found.get("EventPattern"),
        "scheduleExpression": found.get("ScheduleExpression"),
        "description": found.get("Description"),
        "roleArn": found.get("RoleArn"),
        "state": found.get("State"),
        "isEnabled": found.get("State") == "ENABLED",
    }
    return {**read, **tag_state(tags, inputs, outputs)}


def _targets(events: Any, rule: str, bus: str) -> list[dict[str, Any]] | None:
    """The rule's targets; None when the rule is gone."""
    paginator = events.get_paginator("list_targets_by_rule")
    try:
        return [t for page in paginator.paginate(Rule=rule, EventBusName=bus) for t in page.get("Targets", [])]
    except ClientError as err:
        if error_code(err) in MISSING:
            return None
        raise


def rule_extras(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext, owned: Owned) -> list[Extra]:
    """Targets of the rule that no stack records. The local runtime's own tap target (an SQS queue through which
    the sandbox receives the rule's events for Lambda targets) plays AWS's part, so it is not counted."""
    bus, name = _rule_name(id_)
    found = []
    for target in _targets(ctx.clients.events, name, bus) or []:
        if target["Id"] != TAP_TARGET_ID and ("rule-target", bus, name, target["Id"]) not in owned:
            found.append(Extra("rule-target", f"{bus}/{name}/{target['Id']}", f"delivers to {target['Arn']}"))
    return found


def target_key(id_: str, inputs: Inputs, outputs: Outputs) -> tuple[str, ...]:
    bus = str(inputs.get("eventBusName") or DEFAULT_BUS)
    return ("rule-target", bus, str(inputs["rule"]), str(inputs.get("targetId") or outputs.get("targetId")))


def read_target(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    _, bus, rule, target_id = target_key(id_, inputs, outputs)
    target = next((t for t in _targets(ctx.clients.events, rule, bus) or [] if t["Id"] == target_id), None)
    if target is None:
        return None
    read: Inputs = {"rule": rule, "eventBusName": bus, "targetId": target_id, "arn": target["Arn"]}
    for field in TARGET_FIELDS:
        value = target.get(field[:1].upper() + field[1:])
        # A target's constant input is text, passed as it is; the rest are parameter blocks.
        read[field] = value if field in ("input", "inputPath", "roleArn") else pascal_to_camel(value)
    transformer = target.get("InputTransformer")
    if transformer:
        # The paths map's keys are the user's own names: kept as they are.
        read["inputTransformer"] = {
            "inputPaths": transformer.get("InputPathsMap"),
            "inputTemplate": transformer.get("InputTemplate"),
        }
    return read


READERS = {
    "aws:cloudwatch/logGroup:LogGroup": ReadSpec(read_log_group),
    "aws:cloudwatch/eventBus:EventBus": ReadSpec(read_event_bus),
    "aws:cloudwatch/eventRule:EventRule": ReadSpec(
        read_rule,
        extras=rule_extras,
        documents={"eventPattern": "json"},
        # A rule the code leaves enabled by default is a change when someone disables it.
        defaults=lambda inputs: {} if "isEnabled" in inputs or "state" in inputs else {"state": "ENABLED"},
    ),
    "aws:cloudwatch/eventTarget:EventTarget": ReadSpec(read_target, owns=target_key, documents={"input": "json"}),
}
