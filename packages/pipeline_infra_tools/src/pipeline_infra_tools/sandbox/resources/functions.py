"""Lambda functions, their permissions, event source mappings and asynchronous invocation settings."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.exceptions import DeployError
from pipeline_infra_tools.sandbox.resources.base import (
    Outputs,
    ResourceContext,
    ResourceHandler,
    camel_to_pascal,
    drop_none,
    error_code,
    ignore_missing,
    integer,
)

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest

MISSING = ("ResourceNotFoundException",)


def _code(request: ResourceRequest) -> bytes:
    """The zip bytes of a FileArchive `code` input; the path is relative to the program's directory (its cwd)."""
    code = request.inputs.get("code") or {}
    path = code.get("path") if isinstance(code, dict) else None
    if not path:
        raise DeployError(
            f"{request.type} {request.name!r}: code must be a FileArchive of a zip file; got {code!r}. "
            "Build the function artifact and pass pulumi.FileArchive(path)."
        )
    zip_path = Path(str(path))
    if not zip_path.is_file():
        raise DeployError(f"{request.type} {request.name!r}: code archive {zip_path.resolve()} does not exist")
    return zip_path.read_bytes()


def code_sha256(request: ResourceRequest) -> str:
    """The code's SHA-256 as Lambda reports it (base64), which the function's saved outputs keep."""
    return base64.b64encode(hashlib.sha256(_code(request)).digest()).decode()


def _configuration(inputs: dict[str, Any]) -> dict[str, Any]:
    """Everything UpdateFunctionConfiguration accepts, from the function's inputs."""
    return drop_none(
        {
            "Role": inputs["role"],
            "Handler": inputs.get("handler"),
            "Runtime": inputs.get("runtime"),
            "Description": inputs.get("description"),
            "Timeout": integer(inputs.get("timeout", 3)),
            "MemorySize": integer(inputs.get("memorySize", 128)),
            "Environment": camel_to_pascal(inputs["environment"]) if inputs.get("environment") else None,
            "TracingConfig": camel_to_pascal(inputs["tracingConfig"]) if inputs.get("tracingConfig") else None,
            "LoggingConfig": camel_to_pascal(inputs["loggingConfig"]) if inputs.get("loggingConfig") else None,
            "Layers": inputs.get("layers"),
            "EphemeralStorage": camel_to_pascal(inputs["ephemeralStorage"]) if inputs.get("ephemeralStorage") else None,
            "VpcConfig": camel_to_pascal(inputs["vpcConfig"]) if inputs.get("vpcConfig") else None,
        }
    )


def _leaving_vpc(current: dict[str, Any], config: dict[str, Any]) -> bool:
    """A function in a VPC whose inputs no longer name one: Lambda detaches it only when told to, with empty lists."""
    return "VpcConfig" not in config and bool((current.get("VpcConfig") or {}).get("SubnetIds"))


def create_function(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    lambda_, inputs = ctx.clients.lambda_, request.inputs
    name = str(inputs.get("name") or request.name)
    code = _code(request)
    code_sha = code_sha256(request)
    config = _configuration(inputs)
    architectures = inputs.get("architectures") or ["x86_64"]
    try:
        current = lambda_.get_function_configuration(FunctionName=name)
    except ClientError as err:
        if error_code(err) not in MISSING:
            raise
        current = lambda_.create_function(
            FunctionName=name,
            Code={"ZipFile": code},
            Architectures=architectures,
            PackageType="Zip",
            Publish=bool(inputs.get("publish", False)),
            Tags=ctx.tags,
            **config,
        )
    else:
        if current.get("CodeSha256") != code_sha:
            lambda_.update_function_code(FunctionName=name, ZipFile=code, Architectures=architectures)
        if _leaving_vpc(current, config):
            config = {**config, "VpcConfig": {"SubnetIds": [], "SecurityGroupIds": []}}
        current = lambda_.update_function_configuration(FunctionName=name, **config)
        if ctx.tags:
            lambda_.tag_resource(Resource=current["FunctionArn"], Tags=ctx.tags)
    if inputs.get("reservedConcurrentExecutions") not in (None, -1):
        lambda_.put_function_concurrency(
            FunctionName=name, ReservedConcurrentExecutions=integer(inputs["reservedConcurrentExecutions"])
        )
    arn = current["FunctionArn"]
    invoke_path = f"arn:aws:apigateway:{ctx.region}:lambda:path/2015-03-31/functions"
    return name, {
        "arn": arn,
        "invokeArn": f"{invoke_path}/{arn}/invocations",
        "qualifiedArn": f"{arn}:$LATEST",
        "qualifiedInvokeArn": f"{invoke_path}/{arn}:$LATEST/invocations",
        "version": current.get("Version", "$LATEST"),
        "lastModified": current.get("LastModified", ""),
        "sourceCodeHash": code_sha,
        "codeSha256": code_sha,
        "sourceCodeSize": len(code),
    }


def delete_function(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.lambda_.delete_function, *MISSING, FunctionName=id_)


def create_permission(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    lambda_, inputs = ctx.clients.lambda_, request.inputs
    function = str(inputs["function"])
    statement_id = str(inputs.get("statementId") or request.name)
    qualifier = {"Qualifier": inputs["qualifier"]} if inputs.get("qualifier") else {}
    # AddPermission refuses an existing statement id in AWS; replacing it makes a redeploy an update.
    ignore_missing(lambda_.remove_permission, *MISSING, FunctionName=function, StatementId=statement_id, **qualifier)
    lambda_.add_permission(
        FunctionName=function,
        StatementId=statement_id,
        **drop_none(
            {
                "Action": inputs["action"],
                "Principal": inputs["principal"],
                "SourceArn": inputs.get("sourceArn"),
                "SourceAccount": inputs.get("sourceAccount"),
                "EventSourceToken": inputs.get("eventSourceToken"),
            }
        ),
        **qualifier,
    )
    return statement_id, {"statementId": statement_id}


def delete_permission(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.lambda_.remove_permission, *MISSING, FunctionName=outputs["function"], StatementId=id_)


def _mapping_options(inputs: dict[str, Any]) -> dict[str, Any]:
    return drop_none(
        {
            "BatchSize": integer(inputs["batchSize"]) if inputs.get("batchSize") is not None else None,
            "MaximumBatchingWindowInSeconds": (
                integer(inputs["maximumBatchingWindowInSeconds"])
                if inputs.get("maximumBatchingWindowInSeconds") is not None
                else None
            ),
            "FunctionResponseTypes": inputs.get("functionResponseTypes"),
            "Enabled": inputs.get("enabled", True),
            "FilterCriteria": camel_to_pascal(inputs["filterCriteria"]) if inputs.get("filterCriteria") else None,
        }
    )


def create_event_source_mapping(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    lambda_, inputs = ctx.clients.lambda_, request.inputs
    function, source = str(inputs["functionName"]), str(inputs["eventSourceArn"])
    function_arn = lambda_.get_function_configuration(FunctionName=function)["FunctionArn"]
    # Emulator gap: moto filters ListEventSourceMappings by the literal FunctionName it was given, so a mapping
    # created with an ARN is not found by name. Listing every mapping of the source and comparing ARNs finds it.
    existing = [
        m
        for m in lambda_.list_event_source_mappings(EventSourceArn=source)["EventSourceMappings"]
        if m["FunctionArn"] == function_arn
    ]
    options = _mapping_options(inputs)
    if existing:
        mapping = lambda_.update_event_source_mapping(UUID=existing[0]["UUID"], FunctionName=function, **options)
    else:
        start = {"StartingPosition": inputs["startingPosition"]} if inputs.get("startingPosition") else {}
        mapping = lambda_.create_event_source_mapping(FunctionName=function, EventSourceArn=source, **start, **options)
    uuid = mapping["UUID"]
    return uuid, {
        "uuid": uuid,
        "functionArn": mapping.get("FunctionArn", function_arn),
        "state": mapping.get("State", ""),
    }


def delete_event_source_mapping(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.lambda_.delete_event_source_mapping, *MISSING, UUID=id_)


def create_event_invoke_config(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    inputs = request.inputs
    function = str(inputs["functionName"])
    qualifier = {"Qualifier": inputs["qualifier"]} if inputs.get("qualifier") else {}
    options = drop_none(
        {
            "MaximumRetryAttempts": (
                integer(inputs["maximumRetryAttempts"]) if inputs.get("maximumRetryAttempts") is not None else None
            ),
            "MaximumEventAgeInSeconds": (
                integer(inputs["maximumEventAgeInSeconds"]) if inputs.get("maximumEventAgeInSeconds") else None
            ),
            "DestinationConfig": camel_to_pascal(inputs["destinationConfig"])
            if inputs.get("destinationConfig")
            else None,
        }
    )
    # PutFunctionEventInvokeConfig replaces the whole configuration: an upsert.
    ctx.clients.lambda_.put_function_event_invoke_config(FunctionName=function, **qualifier, **options)
    return (f"{function}:{inputs['qualifier']}" if qualifier else function), {}


def delete_event_invoke_config(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    function, _, qualifier = id_.partition(":")
    extra = {"Qualifier": qualifier} if qualifier else {}
    ignore_missing(ctx.clients.lambda_.delete_function_event_invoke_config, *MISSING, FunctionName=function, **extra)


HANDLERS = {
    "aws:lambda/function:Function": ResourceHandler(create_function, delete_function),
    "aws:lambda/permission:Permission": ResourceHandler(create_permission, delete_permission),
    "aws:lambda/eventSourceMapping:EventSourceMapping": ResourceHandler(
        create_event_source_mapping, delete_event_source_mapping
    ),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ResourceHandler(
        create_event_invoke_config, delete_event_invoke_config
    ),
}
