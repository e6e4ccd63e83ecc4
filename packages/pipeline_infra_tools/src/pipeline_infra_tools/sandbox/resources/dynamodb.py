"""DynamoDB tables: keys, billing, global secondary indexes, stream, encryption, PITR and TTL; created and read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.resources.base import (
    Outputs,
    ResourceContext,
    ResourceHandler,
    drop_none,
    error_code,
    ignore_missing,
    integer,
    tag_list,
)
from pipeline_infra_tools.sandbox.resources.reading import Inputs, ReadSpec, fixed_defaults, tag_state, tags_from_list

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest

PROVISIONED = "PROVISIONED"


def _key_schema(hash_key: Any, range_key: Any = None) -> list[dict[str, str]]:
    schema = [{"AttributeName": str(hash_key), "KeyType": "HASH"}]
    if range_key:
        schema.append({"AttributeName": str(range_key), "KeyType": "RANGE"})
    return schema


def _throughput(spec: dict[str, Any]) -> dict[str, int]:
    return {
        "ReadCapacityUnits": integer(spec.get("readCapacity", 1)),
        "WriteCapacityUnits": integer(spec.get("writeCapacity", 1)),
    }


def _index(spec: dict[str, Any], billing: str) -> dict[str, Any]:
    # pulumi-aws 7 describes an index's keys as keySchemas; older programs use hashKey/rangeKey.
    if spec.get("keySchemas"):
        schema = [{"AttributeName": k["attributeName"], "KeyType": k["keyType"]} for k in spec["keySchemas"]]
    else:
        schema = _key_schema(spec["hashKey"], spec.get("rangeKey"))
    projection = drop_none(
        {"ProjectionType": spec.get("projectionType", "ALL"), "NonKeyAttributes": spec.get("nonKeyAttributes")}
    )
    index: dict[str, Any] = {"IndexName": spec["name"], "KeySchema": schema, "Projection": projection}
    if billing == PROVISIONED:
        index["ProvisionedThroughput"] = _throughput(spec)
    return index


def _stream(inputs: dict[str, Any]) -> dict[str, Any]:
    if inputs.get("streamEnabled"):
        return {"StreamEnabled": True, "StreamViewType": inputs.get("streamViewType", "NEW_AND_OLD_IMAGES")}
    return {"StreamEnabled": False}


def create_table(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    dynamodb, inputs = ctx.clients.dynamodb, request.inputs
    name = str(inputs.get("name") or request.name)
    billing = str(inputs.get("billingMode", "PROVISIONED"))
    indexes = [_index(spec, billing) for spec in inputs.get("globalSecondaryIndexes") or []]
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as err:
        if error_code(err) != "ResourceNotFoundException":
            raise
        table = None
    if table is None:
        options: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": [
                {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
            ],
            "KeySchema": _key_schema(inputs["hashKey"], inputs.get("rangeKey")),
            "BillingMode": billing,
            "StreamSpecification": _stream(inputs),
            "SSESpecification": {"Enabled": bool((inputs.get("serverSideEncryption") or {}).get("enabled", False))},
            "DeletionProtectionEnabled": bool(inputs.get("deletionProtectionEnabled", False)),
        }
        if billing == PROVISIONED:
            options["ProvisionedThroughput"] = _throughput(inputs)
        if indexes:
            options["GlobalSecondaryIndexes"] = indexes
        if ctx.tags:
            options["Tags"] = tag_list(ctx.tags)
        table = dynamodb.create_table(**options)["TableDescription"]
    else:
        table = _update(dynamodb, table, inputs, billing, indexes)
        if ctx.tags:
            dynamodb.tag_resource(ResourceArn=table["TableArn"], Tags=tag_list(ctx.tags))
    _continuous_settings(dynamodb, name, inputs)
    outputs: Outputs = {"arn": table["TableArn"]}
    if table.get("LatestStreamArn") and inputs.get("streamEnabled"):
        outputs.update({"streamArn": table["LatestStreamArn"], "streamLabel": table.get("LatestStreamLabel", "")})
    return name, outputs


def _update(
    dynamodb: Any, table: dict[str, Any], inputs: dict[str, Any], billing: str, indexes: list[dict[str, Any]]
) -> dict[str, Any]:
    """Bring an existing table to the declared billing, stream and indexes; an unchanged table gets no call."""
    name = table["TableName"]
    changes: dict[str, Any] = {}
    current_billing = (table.get("BillingModeSummary") or {}).get("BillingMode", PROVISIONED)
    current_throughput = {k: v for k, v in (table.get("ProvisionedThroughput") or {}).items() if k in _throughput({})}
    if current_billing != billing:
        changes["BillingMode"] = billing
    if billing == PROVISIONED and current_throughput != _throughput(inputs):
        changes["ProvisionedThroughput"] = _throughput(inputs)
    current_stream = table.get("StreamSpecification") or {"StreamEnabled": False}
    if current_stream != _stream(inputs):
        changes["StreamSpecification"] = _stream(inputs)
    existing = {i["IndexName"] for i in table.get("GlobalSecondaryIndexes") or []}
    wanted = {i["IndexName"]: i for i in indexes}
    updates = [{"Create": wanted[n]} for n in sorted(set(wanted) - existing)]
    updates += [{"Delete": {"IndexName": n}} for n in sorted(existing - set(wanted))]
    if updates:
        changes["GlobalSecondaryIndexUpdates"] = updates
        changes["AttributeDefinitions"] = [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in inputs["attributes"]
        ]
    if changes:
        return dict(dynamodb.update_table(TableName=name, **changes)["TableDescription"])
    return table


def _continuous_settings(dynamodb: Any, name: str, inputs: dict[str, Any]) -> None:
    pitr = bool((inputs.get("pointInTimeRecovery") or {}).get("enabled", False))
    dynamodb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": pitr}
    )
    ttl = inputs.get("ttl") or {}
    if ttl.get("enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["attributeName"]}
        )


def delete_table(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    ignore_missing(ctx.clients.dynamodb.delete_table, "ResourceNotFoundException", TableName=id_)


def _read_keys(schema: list[dict[str, Any]], as_key_schemas: bool) -> dict[str, Any]:
    """An index's keys as the code wrote them: pulumi-aws 7's keySchemas, or the older hashKey/rangeKey."""
    if as_key_schemas:
        return {"keySchemas": [{"attributeName": k["AttributeName"], "keyType": k["KeyType"]} for k in schema]}
    keys = {k["KeyType"]: k["AttributeName"] for k in schema}
    return drop_none({"hashKey": keys.get("HASH"), "rangeKey": keys.get("RANGE")})


def _read_index(index: dict[str, Any], billing: str, as_key_schemas: bool) -> dict[str, Any]:
    projection = index.get("Projection") or {}
    read = {
        "name": index["IndexName"],
        **_read_keys(index["KeySchema"], as_key_schemas),
        "projectionType": projection.get("ProjectionType"),
    }
    if projection.get("NonKeyAttributes"):
        read["nonKeyAttributes"] = projection["NonKeyAttributes"]
    if billing == PROVISIONED:
        throughput = index.get("ProvisionedThroughput") or {}
        read["readCapacity"] = throughput.get("ReadCapacityUnits")
        read["writeCapacity"] = throughput.get("WriteCapacityUnits")
    return read


def read_table(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    dynamodb = ctx.clients.dynamodb
    found = ignore_missing(dynamodb.describe_table, "ResourceNotFoundException", TableName=id_)
    if found is None:
        return None
    table = found["Table"]
    billing = (table.get("BillingModeSummary") or {}).get("BillingMode", PROVISIONED)
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    stream = table.get("StreamSpecification") or {}
    sse = table.get("SSEDescription") or {}
    recorded_indexes = inputs.get("globalSecondaryIndexes") or []
    as_key_schemas = not recorded_indexes or any("keySchemas" in index for index in recorded_indexes)
    read: Inputs = {
        "name": table["TableName"],
        "attributes": [{"name": a["AttributeName"], "type": a["AttributeType"]} for a in table["AttributeDefinitions"]],
        "hashKey": keys.get("HASH"),
        "rangeKey": keys.get("RANGE"),
        "billingMode": billing,
        "globalSecondaryIndexes": [
            _read_index(index, billing, as_key_schemas) for index in table.get("GlobalSecondaryIndexes") or []
        ]
        or None,
        "streamEnabled": bool(stream.get("StreamEnabled", False)),
        "streamViewType": stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        "serverSideEncryption": {"enabled": sse.get("Status") in ("ENABLED", "ENABLING")},
        "deletionProtectionEnabled": bool(table.get("DeletionProtectionEnabled", False)),
        "pointInTimeRecovery": _point_in_time_recovery(dynamodb, id_, inputs),
        "ttl": _ttl(dynamodb, id_),
    }
    if "kmsKeyArn" in (inputs.get("serverSideEncryption") or {}):
        read["serverSideEncryption"]["kmsKeyArn"] = sse.get("KMSMasterKeyArn")
    if billing == PROVISIONED:
        throughput = table.get("ProvisionedThroughput") or {}
        read["readCapacity"] = throughput.get("ReadCapacityUnits")
        read["writeCapacity"] = throughput.get("WriteCapacityUnits")
    tags = dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags")
    return {**read, **tag_state(tags_from_list(tags), inputs, outputs)}


def _point_in_time_recovery(dynamodb: Any, name: str, inputs: Inputs) -> dict[str, Any]:
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    pitr = backups.get("PointInTimeRecoveryDescription") or {}
    read: dict[str, Any] = {"enabled": pitr.get("PointInTimeRecoveryStatus") == "ENABLED"}
    if "recoveryPeriodInDays" in (inputs.get("pointInTimeRecovery") or {}):
        read["recoveryPeriodInDays"] = pitr.get("RecoveryPeriodInDays")
    return read


def _ttl(dynamodb: Any, name: str) -> dict[str, Any]:
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    read: dict[str, Any] = {"enabled": ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")}
    if ttl.get("AttributeName"):
        read["attributeName"] = ttl["AttributeName"]
    return read


HANDLERS = {"aws:dynamodb/table:Table": ResourceHandler(create_table, delete_table)}
READERS = {
    "aws:dynamodb/table:Table": ReadSpec(
        read_table,
        # Attributes and indexes are sets in AWS, each named by its name.
        sets={"attributes": "name", "globalSecondaryIndexes": "name"},
        # A table the code gives no stream has none; one enabled by hand is a change.
        defaults=fixed_defaults({"streamEnabled": False}),
    )
}
