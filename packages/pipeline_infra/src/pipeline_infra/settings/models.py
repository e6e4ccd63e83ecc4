"""Pydantic models of shared_config/. Unknown keys are rejected so a typo never passes silently."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from pipeline_infra.exceptions import UnknownEnvironmentError
from pipeline_infra.settings.network import NetworkSettings  # noqa: TC001 (pydantic resolves it at runtime)

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
GIB = 1024**3
MIB = 1024**2


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectSettings(StrictModel):
    """Values shared by every environment and stack."""

    name: str = Field(
        "pipeline-infra",
        pattern=r"^[a-z][a-z0-9-]{1,40}$",
        description="Project tag and prefix of the Pulumi project names.",
    )
    organization: str = Field(
        "organization", min_length=1, description="Pulumi organization used in StackReference names."
    )
    company: str = Field("company", pattern=r"^[a-z0-9][a-z0-9-]{0,29}$", description="Prefix of the data bucket name.")
    environments: list[str] = Field(default_factory=lambda: ["dev", "staging", "prod"], min_length=1)
    source_environment: str = Field("prod", description="Environment whose configuration is replicated to the others.")
    stack_reference_format: str = Field(
        "{organization}/{project}/{stack}",
        description="How StackReference names are built; {project} is the layer's Pulumi project name.",
    )

    @model_validator(mode="after")
    def _source_is_an_environment(self) -> ProjectSettings:
        if self.source_environment not in self.environments:
            raise ValueError(
                f"source_environment {self.source_environment!r} must be one of environments {self.environments}"
            )
        if len(set(self.environments)) != len(self.environments):
            raise ValueError(f"environments must be unique, got {self.environments}")
        return self


class BillingSettings(StrictModel):
    mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST"
    read_capacity: int | None = Field(None, ge=1, le=40000)
    write_capacity: int | None = Field(None, ge=1, le=40000)

    @model_validator(mode="after")
    def _capacity_matches_mode(self) -> BillingSettings:
        has_capacity = self.read_capacity is not None or self.write_capacity is not None
        if self.mode == "PROVISIONED" and (self.read_capacity is None or self.write_capacity is None):
            raise ValueError("PROVISIONED billing needs both read_capacity and write_capacity")
        if self.mode == "PAY_PER_REQUEST" and has_capacity:
            raise ValueError("read_capacity/write_capacity are only allowed with mode PROVISIONED")
        return self


class TableSettings(StrictModel):
    billing: BillingSettings = BillingSettings()
    point_in_time_recovery: bool = True


class StorageSettings(StrictModel):
    raw_retention_days: int = Field(30, ge=1, le=3650, description="Days before objects under raw/ expire.")
    noncurrent_version_expiration_days: int = Field(30, ge=1, le=3650)
    force_destroy: bool = True
    config_table: TableSettings = TableSettings()
    metadata_table: TableSettings = TableSettings()


class FunctionSettings(StrictModel):
    memory_mb: int = Field(512, ge=128, le=10240)
    timeout_seconds: int = Field(60, ge=1, le=300, description="At most 5 minutes.")
    reserved_concurrency: int | None = Field(None, ge=1)


class FunctionsSettings(StrictModel):
    runtime: str = Field("python3.12", pattern=r"^python3\.(1[2-9]|[2-9][0-9])$", description="python3.12 or newer.")
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    tracing: bool = False
    log_retention_days: int = 7
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    validator: FunctionSettings = FunctionSettings(memory_mb=512, timeout_seconds=120)
    task_processor: FunctionSettings = FunctionSettings(memory_mb=512, timeout_seconds=60)
    replicator: FunctionSettings = FunctionSettings(memory_mb=512, timeout_seconds=300)
    drift_checker: FunctionSettings = FunctionSettings(memory_mb=512, timeout_seconds=300)
    environment: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables for every function."
    )

    @model_validator(mode="after")
    def _retention_is_supported(self) -> FunctionsSettings:
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(f"log_retention_days must be one of {LOG_RETENTION_DAYS}, got {self.log_retention_days}")
        return self


class Subscription(StrictModel):
    topic: Literal["success", "failure"]
    protocol: Literal["email", "email-json", "sqs", "lambda", "https", "http", "sms"]
    endpoint: str = Field(min_length=1)
    filter_policy: dict[str, Any] | None = None
    raw_message_delivery: bool = False


class NotificationSettings(StrictModel):
    subscriptions: list[Subscription] = Field(default_factory=list)
    queue_retention_seconds: int = Field(1_209_600, ge=60, le=1_209_600, description="14 days is the SQS maximum.")
    max_receive_count: int = Field(3, ge=1, le=1000)
    task_batch_size: int = Field(10, ge=1, le=10000)


class ReplicationSettings(StrictModel):
    targets: list[str] = Field(
        default_factory=list, description="Environments that receive the source's configuration."
    )
    prefixes: list[str] = Field(default_factory=lambda: ["config/", "schemas/"], min_length=1)
    propagate_deletes: bool = True
    multipart_threshold_bytes: int = Field(5 * GIB, ge=5 * MIB, le=5 * GIB)
    rewrite_max_bytes: int = Field(
        1 * GIB,
        ge=1,
        le=5 * GIB,
        description="Largest JSON, YAML or text document rewritten (streamed); a larger one is refused, never copied.",
    )
    rewrite_in_memory_bytes: int = Field(
        1 * MIB, ge=1, le=64 * MIB, description="Documents up to this size are parsed whole; larger ones streamed."
    )
    verbatim_prefixes: list[str] = Field(
        default_factory=list,
        description="Prefixes whose unrewritable documents are copied verbatim (and marked) instead of refused.",
    )
    async_retry_attempts: int = Field(2, ge=0, le=2)
    maximum_event_age_seconds: int = Field(3600, ge=60, le=21600)
    rule_retry_attempts: int = Field(8, ge=0, le=185)
    rule_maximum_event_age_seconds: int = Field(3600, ge=60, le=86400)
    idempotency_ttl_seconds: int = Field(3600, ge=60)
    drift_schedule: str = Field("rate(1 day)", pattern=r"^(rate|cron)\(.+\)$")
    overlay: dict[str, Any] = Field(
        default_factory=dict,
        description="Values merged into this environment's replicas after identifiers are rewritten.",
    )

    @model_validator(mode="after")
    def _limits_and_prefixes_agree(self) -> ReplicationSettings:
        if self.rewrite_in_memory_bytes > self.rewrite_max_bytes:
            raise ValueError(
                f"rewrite_in_memory_bytes ({self.rewrite_in_memory_bytes}) must not be above "
                f"rewrite_max_bytes ({self.rewrite_max_bytes})"
            )
        outside = [p for p in self.verbatim_prefixes if not p.startswith(tuple(self.prefixes))]
        if outside:
            raise ValueError(f"verbatim_prefixes {outside} must lie within the replicated prefixes {self.prefixes}")
        return self


class EnvironmentSettings(StrictModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9]{1,11}$")
    suffix: str = Field(pattern=r"^[a-z0-9]{1,8}$", description="Last part of every resource name.")
    region: str = Field(pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    account_id: str = Field(pattern=r"^\d{12}$")
    storage: StorageSettings = StorageSettings()
    functions: FunctionsSettings = FunctionsSettings()
    notifications: NotificationSettings = NotificationSettings()
    replication: ReplicationSettings = ReplicationSettings()
    network: NetworkSettings | None = Field(
        None, description="The existing VPC the functions run in; absent, they run outside any VPC."
    )


class ApprovedDifference(StrictModel):
    """A setting path or rendered-property path that may differ between environments."""

    path: str = Field(min_length=1, description="Dotted path; '*' matches one segment.")
    reason: str = Field(min_length=1)
    rule: Literal["non_decreasing", "non_increasing"] | None = Field(
        None, description="Checked in environment order: non_decreasing means dev <= staging <= prod."
    )


# A Pulumi type token: `aws:s3/bucket:Bucket`, `pipeline-infra:storage:DataStore`.
TYPE_TOKEN = re.compile(r"^[a-z][a-z0-9-]*:[A-Za-z0-9/]+:[A-Za-z][A-Za-z0-9]*$")


class UnmanagedApproval(StrictModel):
    """A resource no stack records that may stay in an environment's account (made by another team, kept by hand)."""

    type: str = Field(min_length=1, description="Pulumi type token of the resource, or '*' for any type.")
    name: str = Field(min_length=1, description="Glob ('*', '?', '[...]') matched against its name or ARN.")
    reason: str = Field(min_length=1)

    @field_validator("type")
    @classmethod
    def _type_is_a_token(cls, value: str) -> str:
        if value != "*" and not TYPE_TOKEN.match(value):
            raise ValueError(f"expected a resource type token such as 'aws:s3/bucket:Bucket', or '*'; got {value!r}")
        return value


class ApprovedDifferences(StrictModel):
    settings: list[ApprovedDifference] = Field(default_factory=list)
    resources: list[ApprovedDifference] = Field(default_factory=list)
    layers: dict[str, list[str]] = Field(
        default_factory=dict, description="Layer name -> environments that have it, when not all do."
    )
    unmanaged: list[UnmanagedApproval] = Field(
        default_factory=list, description="Resources that look like the project's but that no stack records."
    )


class Settings(StrictModel):
    project: ProjectSettings
    environments: dict[str, EnvironmentSettings]
    approved: ApprovedDifferences = ApprovedDifferences()

    def env(self, name: str) -> EnvironmentSettings:
        try:
            return self.environments[name]
        except KeyError:
            raise UnknownEnvironmentError(
                f"unknown environment {name!r}; shared_config/ defines {sorted(self.environments)}"
            ) from None

    @property
    def source(self) -> EnvironmentSettings:
        return self.environments[self.project.source_environment]
