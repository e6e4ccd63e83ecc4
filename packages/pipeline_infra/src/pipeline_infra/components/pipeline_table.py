"""A DynamoDB table with the project's defaults: string keys, PITR, no deletion protection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from pipeline_infra.settings import BillingSettings


@dataclass
class SecondaryIndex:
    name: str
    hash_key: str
    range_key: str | None = None


@dataclass
class PipelineTableArgs:
    table_name: pulumi.Input[str]
    hash_key: str
    billing: BillingSettings
    range_key: str | None = None
    point_in_time_recovery: bool = True
    stream: bool = False
    ttl_attribute: str | None = None
    indexes: list[SecondaryIndex] = field(default_factory=list)


class PipelineTable(pulumi.ComponentResource):
    table_name: pulumi.Output[str]
    table_arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: PipelineTableArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipeline-infra:storage:PipelineTable", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        provisioned = args.billing.mode == "PROVISIONED"
        key_names = [args.hash_key, args.range_key] + [k for i in args.indexes for k in (i.hash_key, i.range_key)]
        attributes = sorted({k for k in key_names if k})
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            name=args.table_name,
            billing_mode=args.billing.mode,
            read_capacity=args.billing.read_capacity if provisioned else None,
            write_capacity=args.billing.write_capacity if provisioned else None,
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
                    read_capacity=args.billing.read_capacity if provisioned else None,
                    write_capacity=args.billing.write_capacity if provisioned else None,
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
