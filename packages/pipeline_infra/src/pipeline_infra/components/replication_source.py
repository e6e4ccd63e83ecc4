"""The source environment as the replication layer's components see it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pulumi

    from pipeline_infra.naming import Names
    from pipeline_infra.settings import EnvironmentSettings


@dataclass
class ReplicationSource:
    """Its settings and names, the function artifact, and the storage, topics and DLQ of its other stacks."""

    env: EnvironmentSettings
    names: Names
    code_path: str
    bucket_name: pulumi.Input[str]
    bucket_arn: pulumi.Input[str]
    config_table_name: pulumi.Input[str]
    config_table_arn: pulumi.Input[str]
    success_topic_arn: pulumi.Input[str]
    failure_topic_arn: pulumi.Input[str]
    # Where a change or a check that still fails after Lambda's retries lands, for `pipeline-infra redrive`.
    dlq_arn: pulumi.Input[str]
