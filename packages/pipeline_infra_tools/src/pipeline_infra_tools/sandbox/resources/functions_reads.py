"""Reading Lambda back: functions (configuration, environment, code by its hash, tags), their permissions,
event source mappings and asynchronous invocation settings, in pulumi-aws 7's input shapes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.resources.base import ignore_missing
from pipeline_infra_tools.sandbox.resources.reading import (
    Extra,
    Inputs,
    Owned,
    ReadSpec,
    fixed_defaults,
    function_name,
    pascal_to_camel,
    tag_state,
)

if TYPE_CHECKING:
    from pipeline_infra_tools.sandbox.resources.base import Outputs, ResourceContext

MISSING = ("ResourceNotFoundException",)
FUNCTION = "aws:lambda/function:Function"

# Inputs the cloud cannot report, with the reason; the recorded value stands in for them.
UNREADABLE: dict[str, dict[str, str]] = {
    FUNCTION: {
        "loggingConfig": "moto 5.2.5's Lambda drops LoggingConfig: CreateFunction and UpdateFunctionConfiguration "
        "accept it and GetFunction never returns it (AWS does)",
        "publish": "a provider-side instruction to publish a version on create or update; no API reports it",
    },
}


def _code(inputs: Inputs, outputs: Outputs, sha256: str) -> Any:
    """The code input as recorded while the deployed zip's hash is the recorded one; otherwise "sha256:<hash>" of
    the live zip, so code replaced by hand reads as one changed `code` (an archive cannot be read back, its hash
    can)."""
    if sha256 == outputs.get("codeSha256"):
        return inputs.get("code")
    return f"sha256:{sha256}"


def _vpc_config(vpc: dict[str, Any] | None) -> dict[str, Any] | None:
    """Subnets and groups as the inputs name them; outside any VPC Lambda reports empty lists (or nothing)."""
    if not vpc or not vpc.get("SubnetIds"):
        return None
    return {"subnetIds": list(vpc["SubnetIds"]), "securityGroupIds": list(vpc.get("SecurityGroupIds") or [])}


def read_function(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    lambda_ = ctx.clients.lambda_
    found = ignore_missing(lambda_.get_function, *MISSING, FunctionName=id_)
    if found is None:
        return None
    config = found["Configuration"]
    variables = (config.get("Environment") or {}).get("Variables")
    read = {
        "name": config["FunctionName"],
        "role": config.get("Role"),
        "handler": config.get("Handler"),
        "runtime": config.get("Runtime"),
        "description": config.get("Description") or "",
        "timeout": config.get("Timeout"),
        "memorySize": config.get("MemorySize"),
        "architectures": config.get("Architectures"),
        "environment": {"variables": variables} if variables else None,
        "tracingConfig": pascal_to_camel(config.get("TracingConfig")),
        "ephemeralStorage": pascal_to_camel(config.get("EphemeralStorage")),
        "layers": [layer["Arn"] for layer in config.get("Layers") or []],
        "packageType": config.get("PackageType"),
        "code": _code(inputs, outputs, str(config.get("CodeSha256"))),
        "vpcConfig": _vpc_config(config.get("VpcConfig")),
    }
    # No reservation reads as -1, the provider's "unreserved".
    concurrency = lambda_.get_function_concurrency(FunctionName=id_)
    read["reservedConcurrentExecutions"] = concurrency.get("ReservedConcurrentExecutions", -1)
    return {**read, **tag_state(found.get("Tags") or {}, inputs, outputs)}


def _statements(ctx: ResourceContext, function: str) -> list[dict[str, Any]] | None:
    """The function's resource policy statements; [] without a policy, None when the function is gone."""
    found = ignore_missing(ctx.clients.lambda_.get_policy, *MISSING, FunctionName=function)
    if found is None:
        # The same error means "no policy" and "no function": ask which.
        exists = ignore_missing(ctx.clients.lambda_.get_function_configuration, *MISSING, FunctionName=function)
        return None if exists is None else []
    statements = json.loads(found["Policy"]).get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def function_extras(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext, owned: Owned) -> list[Extra]:
    """Statements of the function's resource policy that no stack records: each lets someone invoke it."""
    found = []
    for statement in _statements(ctx, id_) or []:
        sid = str(statement.get("Sid", ""))
        if ("permission", id_, sid) not in owned:
            detail = f"lets {json.dumps(statement.get('Principal'))} {statement.get('Action')}"
            found.append(Extra("function-permission", f"{id_}/{sid}", detail))
    return found


def permission_key(id_: str, inputs: Inputs, outputs: Outputs) -> tuple[str, ...]:
    return ("permission", function_name(str(inputs["function"])), id_)


def _condition(statement: dict[str, Any], key: str) -> Any:
    """A condition value wherever the operator put it (AddPermission writes ArnLike or StringEquals)."""
    for block in (statement.get("Condition") or {}).values():
        for name, value in block.items():
            if name.lower() == key.lower():
                return value
    return None


def read_permission(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    recorded_function = str(inputs["function"])
    statement = next((s for s in _statements(ctx, function_name(recorded_function)) or [] if s.get("Sid") == id_), None)
    if statement is None:
        return None
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        principal = next(iter(principal.values()), None)
    if isinstance(principal, str) and principal.endswith(":root") and str(inputs.get("principal")).isdigit():
        # An account given as its id is stored as the account's root ARN.
        principal = principal.split(":")[4]
    resource = str(statement.get("Resource", ""))
    qualifier = resource.split(":function:", 1)[-1].partition(":")[2]
    return {
        # The function as the code named it (name or ARN), when the statement is on that function.
        "function": recorded_function if function_name(resource) == function_name(recorded_function) else resource,
        "statementId": statement.get("Sid"),
        "action": statement.get("Action"),
        "principal": principal,
        "sourceArn": _condition(statement, "AWS:SourceArn"),
        "sourceAccount": _condition(statement, "AWS:SourceAccount"),
        "eventSourceToken": _condition(statement, "lambda:EventSourceToken"),
        "qualifier": qualifier or None,
    }


def read_event_source_mapping(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    found = ignore_missing(ctx.clients.lambda_.get_event_source_mapping, *MISSING, UUID=id_)
    if found is None:
        return None
    function_arn = str(found.get("FunctionArn", ""))
    recorded = str(inputs.get("functionName", ""))
    filters = found.get("FilterCriteria")
    return {
        # The function as the code named it: by ARN or by name.
        "functionName": function_arn if ":function:" in recorded else function_name(function_arn),
        "eventSourceArn": found.get("EventSourceArn"),
        "batchSize": found.get("BatchSize"),
        "maximumBatchingWindowInSeconds": found.get("MaximumBatchingWindowInSeconds"),
        "functionResponseTypes": found.get("FunctionResponseTypes") or None,
        # Enabling and Updating are on their way to Enabled; Disabling to Disabled.
        "enabled": found.get("State") in ("Enabled", "Enabling", "Updating", "Creating"),
        "startingPosition": found.get("StartingPosition"),
        "filterCriteria": pascal_to_camel(filters) if filters else None,
    }


def read_event_invoke_config(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    """Emulator gap: moto's PutFunctionEventInvokeConfig appends a configuration and Get returns the first one
    ever put, so after a second put (a redeploy, or a change by hand without deleting first) this reads the
    first; AWS replaces it. The read is of what the emulator reports."""
    function = str(inputs["functionName"])
    qualifier = {"Qualifier": inputs["qualifier"]} if inputs.get("qualifier") else {}
    found = ignore_missing(
        ctx.clients.lambda_.get_function_event_invoke_config, *MISSING, FunctionName=function, **qualifier
    )
    if found is None:
        return None
    return {
        "functionName": function,
        "qualifier": inputs.get("qualifier"),
        "maximumRetryAttempts": found.get("MaximumRetryAttempts"),
        "maximumEventAgeInSeconds": found.get("MaximumEventAgeInSeconds"),
        "destinationConfig": pascal_to_camel(found.get("DestinationConfig")) or None,
    }


READERS = {
    FUNCTION: ReadSpec(
        read_function,
        extras=function_extras,
        unreadable=UNREADABLE[FUNCTION],
        # Architectures form a set; no reserved concurrency reads as the provider's -1.
        sets={"architectures": ""},
        defaults=fixed_defaults({"reservedConcurrentExecutions": -1}),
    ),
    "aws:lambda/permission:Permission": ReadSpec(read_permission, owns=permission_key),
    "aws:lambda/eventSourceMapping:EventSourceMapping": ReadSpec(
        read_event_source_mapping,
        sets={"functionResponseTypes": ""},
        # A mapping the code leaves enabled by default is a change when someone disables it.
        defaults=fixed_defaults({"enabled": True}),
    ),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ReadSpec(read_event_invoke_config),
}
