"""The role through which the source environment's replicator writes into this environment."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from pipeline_infra.policies import documents


@dataclass
class ReplicaWriterRoleArgs:
    role_name: str
    # The source environment's replicator (writes) and drift checker (reads); names are predictable from settings.
    trusted_role_arns: list[str]
    bucket_arn: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    source_bucket_arn: str
    prefixes: list[str]


class ReplicaWriterRole(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: ReplicaWriterRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pipeline-infra:storage:ReplicaWriterRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            assume_role_policy=json.dumps(documents.role_trust(args.trusted_role_arns)),
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            name="replica-writer",
            role=self.role.id,
            policy=pulumi.Output.all(args.bucket_arn, args.table_arn).apply(
                lambda arns: json.dumps(
                    documents.replica_writer(arns[0], arns[1], args.prefixes, args.source_bucket_arn)
                )
            ),
            opts=child,
        )
        self.role_arn = self.role.arn
        self.role_name = self.role.name
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})
