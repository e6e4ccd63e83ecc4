"""EventBridge Pipes (the config table's stream to the replication bus): created and read."""

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
from pipeline_infra_tools.sandbox.resources.reading import Inputs, ReadSpec, fixed_defaults, pascal_to_camel, tag_state

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

# The API's block names back to pulumi-aws's, the reverse of RENAMES.
READ_RENAMES = {api: camel for camel, api in RENAMES.items()}


def read_pipe(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    found = ignore_missing(ctx.clients.pipes.describe_pipe, *MISSING, Name=id_)
    if found is None:
        return None
    read = {
        "name": found["Name"],
        "roleArn": found.get("RoleArn"),
        "description": found.get("Description"),
        "desiredState": found.get("DesiredState"),
        "enrichment": found.get("Enrichment"),
        "source": found.get("Source"),
        "target": found.get("Target"),
        "sourceParameters": pascal_to_camel(found.get("SourceParameters"), READ_RENAMES) or None,
        "targetParameters": pascal_to_camel(found.get("TargetParameters"), READ_RENAMES) or None,
    }
    return {**read, **tag_state(found.get("Tags") or {}, inputs, outputs)}


READERS = {
    "aws:pipes/pipe:Pipe": ReadSpec(
        read_pipe,
        # A pipe the code leaves running by default is a change when someone stops it.
        defaults=fixed_defaults({"desiredState": "RUNNING"}),
    )
}
