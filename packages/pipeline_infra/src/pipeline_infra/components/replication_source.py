"""The source environment as the replication layer's components (replicator and drift checker) see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pulumi

    from pipeline_infra.components.targets import Retries


@dataclass(kw_only=True, frozen=True)
class ReplicationSource:
    """Who the source is, what it replicates, the function artifact, and the outputs of its other stacks."""

    environment: str
    """Name of the source environment (prod)."""
    account_id: str
    """The source's AWS account, rewritten in replicas of another account."""
    region: str
    """The source's region, rewritten in replicas of another region."""
    name_token: str
    """`-{env}-{suffix}`, the part of every source name that replicas rewrite."""
    code_path: str
    """Path of the function artifact (a zip)."""
    prefixes: Sequence[str]
    """Replicated (and checked) key prefixes of the data bucket."""
    async_retries: Retries
    """Lambda's asynchronous retries of a failed change or check, before the DLQ."""
    bucket_name: pulumi.Input[str]
    """The source's data bucket."""
    bucket_arn: pulumi.Input[str]
    """ARN of the source's data bucket."""
    config_table_name: pulumi.Input[str]
    """The source's config table."""
    config_table_arn: pulumi.Input[str]
    """ARN of the source's config table."""
    success_topic_arn: pulumi.Input[str]
    """Topic for successful outcomes."""
    failure_topic_arn: pulumi.Input[str]
    """Topic for failures."""
    dlq_arn: pulumi.Input[str]
    """Where a change or a check that still fails after Lambda's retries lands, for `pipeline-infra redrive`."""
    dlq_url: pulumi.Input[str] | None = None
    """URL of that queue: the replicator dead-letters single records there itself."""
