"""EventBridge Pipes (the config table's stream to the replication bus)."""

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
)

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest

MISSING = ("NotFoundException", "ResourceNotFoundException")
# Parameter blocks whose API names are not the PascalCase of pulumi-aws's names.
RENAMES = {
    "dynamodbStreamParameters": "DynamoDBStreamParameters",
    "eventbridgeEventBusParameters": "EventBridgeEventBusParameters",
    "sqsQueueParameters": "SqsQueueParameters",
    "lambdaFunctionParameters": "LambdaFunctionParameters",
    "deadLetterConfig": "DeadLetterConfig",
}


def _parameters(inputs: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = inputs.get(key)
    return camel_to_pascal(value, RENAMES) if value else None


def create_pipe(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    pipes, inputs = ctx.clients.pipes, request.inputs
    name = str(inputs.get("name") or request.name)
    common = drop_none(
        {
            "RoleArn": inputs["roleArn"],
            "Description": inputs.get("description"),
            "DesiredState": inputs.get("desiredState", "RUNNING"),
            "Enrichment": inputs.get("enrichment"),
            "Target": inputs["target"],
            "TargetParameters": _parameters(inputs, "targetParameters"),
        }
    )
    # Emulator gap: moto's CreatePipe accepts a name that already exists and keeps both pipes. Looking the
    # pipe up first makes a redeploy update the one pipe instead of adding a duplicate.
    try:
        pipes.describe_pipe(Name=name)
    except ClientError as err:
        if error_code(err) not in MISSING:
            raise
        response = pipes.create_pipe(
            Name=name,
            Source=inputs["source"],
            SourceParameters=_parameters(inputs, "sourceParameters") or {},
            Tags=ctx.tags,
            **common,
        )
    else:
        response = pipes.update_pipe(Name=name, **common)
        if ctx.tags:
            pipes.tag_resource(resourceArn=response["Arn"], tags=ctx.tags)
    return name, {"arn": response["Arn"]}


def delete_pipe(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.pipes.delete_pipe, *MISSING, Name=id_)


HANDLERS = {"aws:pipes/pipe:Pipe": ResourceHandler(create_pipe, delete_pipe)}
