"""The role through which the source environment's replicator writes into this environment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from pipeline_infra.components.aliases import carry_over
from pipeline_infra.policies import documents

if TYPE_CHECKING:
    from collections.abc import Sequence

TYPE_TOKEN = "pipeline-infra:storage:ReplicaWriterRole"


@dataclass(kw_only=True, frozen=True)
class ReplicaWriterRoleArgs:
    role_name: str
    """Physical name of the role."""
    trusted_role_arns: Sequence[str]
    """The source's replicator (writes) and drift checker (reads), by ARNs predictable from settings."""
    bucket_arn: pulumi.Input[str]
    """This environment's data bucket."""
    table_arn: pulumi.Input[str]
    """This environment's config table."""
    source_bucket_arn: str
    """The source environment's data bucket, read under the replicated prefixes."""
    prefixes: Sequence[str]
    """Replicated prefixes, e.g. `config/`: the only keys the role may write."""
    organization_id: str | None = None
    """When given, the trusted roles must belong to this AWS organization (`aws:PrincipalOrgID`)."""
    external_id: str | None = None
    """When given, the trusted roles must pass it (`sts:ExternalId`)."""


class ReplicaWriterRole(pulumi.ComponentResource):
    role_arn: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: ReplicaWriterRoleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_TOKEN, name, None, carry_over(TYPE_TOKEN, opts))
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=args.role_name,
            assume_role_policy=json.dumps(
                documents.role_trust(
                    list(args.trusted_role_arns), organization_id=args.organization_id, external_id=args.external_id
                )
            ),
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-policy",
            name=f"{args.role_name}-policy",
            role=self.role.id,
            policy=pulumi.Output.all(args.bucket_arn, args.table_arn).apply(
                lambda arns: json.dumps(
                    documents.replica_writer(arns[0], arns[1], list(args.prefixes), args.source_bucket_arn)
                )
            ),
            opts=child,
        )
        self.role_arn = self.role.arn
        self.role_name = self.role.name
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})
