"""A DynamoDB table with the project's defaults: string keys, PITR, no deletion protection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over

if TYPE_CHECKING:
    from collections.abc import Sequence

TYPE_TOKEN = "pipeline-infra:shared:PipelineTable"
PROVISIONED = "PROVISIONED"


@dataclass(kw_only=True, frozen=True)
class TableBilling:
    """How a table (and its indexes) is billed."""

    mode: str = "PAY_PER_REQUEST"
    """`PAY_PER_REQUEST` or `PROVISIONED`."""
    read_capacity: int | None = None
    """Read capacity units, PROVISIONED only."""
    write_capacity: int | None = None
    """Write capacity units, PROVISIONED only."""


@dataclass(kw_only=True, frozen=True)
class SecondaryIndex:
    """A global secondary index projecting every attribute."""

    name: str
    """Index name."""
    hash_key: str
    """Partition key attribute (a string)."""
    range_key: str | None = None
    """Sort key attribute (a string), if any."""


@dataclass(kw_only=True, frozen=True)
class PipelineTableArgs:
    table_name: pulumi.Input[str]
    """Physical table name."""
    hash_key: str
    """Partition key attribute (a string)."""
    range_key: str | None = None
    """Sort key attribute (a string), if any."""
    billing: TableBilling = field(default_factory=TableBilling)
    """Billing mode and capacity, applied to the indexes too."""
    point_in_time_recovery: bool = True
    """Continuous backups."""
    stream: bool = False
    """A stream of new and old images."""
    ttl_attribute: str | None = None
    """Attribute holding each item's expiry time, if items expire."""
    indexes: Sequence[SecondaryIndex] = ()
    """Global secondary indexes."""


class PipelineTable(pulumi.ComponentResource):
    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: PipelineTableArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        billing = args.billing
        provisioned = billing.mode == PROVISIONED
        key_names = [args.hash_key, args.range_key] + [k for i in args.indexes for k in (i.hash_key, i.range_key)]
        attributes = sorted({k for k in key_names if k})
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=args.table_name,
            billing_mode=billing.mode,
            read_capacity=billing.read_capacity if provisioned else None,
            write_capacity=billing.write_capacity if provisioned else None,
            hash_key=args.hash_key,
            range_key=args.range_key,
            attributes=[aws.dynamodb.TableAttributeArgs(name=a, type="S") for a in attributes],
            global_secondary_indexes=[
                aws.dynamodb.TableGlobalSecondaryIndexArgs(
                    name=index.name,
                    key_schemas=[
                        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=key, key_type=role)
                        for key, role in ((index.hash_key, "HASH"), (index.range_key, "RANGE"))
                        if key
                    ],
                    projection_type="ALL",
                    read_capacity=billing.read_capacity if provisioned else None,
                    write_capacity=billing.write_capacity if provisioned else None,
                )
                for index in args.indexes
            ]
            or None,
            stream_enabled=args.stream or None,
            stream_view_type="NEW_AND_OLD_IMAGES" if args.stream else None,
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=args.point_in_time_recovery),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=args.ttl_attribute, enabled=True)
            if args.ttl_attribute
            else None,
            deletion_protection_enabled=False,
            opts=child,
        )
        self.table_name = self.table.name
        self.table_arn = self.table.arn
        self.stream_arn = self.table.stream_arn if args.stream else None
        outputs: dict[str, pulumi.Output[str]] = {"table_name": self.table_name, "table_arn": self.table_arn}
        if self.stream_arn is not None:
            outputs["stream_arn"] = self.stream_arn
        self.register_outputs(outputs)
