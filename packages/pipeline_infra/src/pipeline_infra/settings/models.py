"""Pydantic models of shared_config/. Unknown keys are rejected so a typo never passes silently."""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from pipeline_infra.exceptions import UnknownEnvironmentError
from pipeline_infra.settings.deployment import EXTERNAL_ID, ORGANIZATION_ID, DeploymentSettings
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
    organization_id: str | None = Field(
        None,
        pattern=ORGANIZATION_ID,
        description="The AWS Organizations id of every environment's account: the targets' writer roles then trust "
        "the source's roles only from within it (aws:PrincipalOrgID).",
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
    external_id: str | None = Field(
        None,
        pattern=EXTERNAL_ID,
        description="In the source: the targets' writer roles require it (sts:ExternalId), and the replicator "
        "and drift checker pass it when they assume them.",
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


# CloudWatch's limits on an alarm's period and on its whole evaluation range (period x evaluation periods).
HIGH_RESOLUTION_PERIODS = (10, 20, 30)
HOUR = 3600
DAY_SECONDS = 86_400
WEEK_SECONDS = 7 * DAY_SECONDS
RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86_400, "days": 86_400}
RATE = re.compile(r"^rate\((\d+)\s+([a-z]+)\)$")


def schedule_interval_seconds(expression: str) -> int | None:
    """Seconds between two runs of a `rate(...)` schedule; None for a `cron(...)` one (no fixed interval)."""
    match = RATE.match(expression.strip())
    if not match or match.group(2) not in RATE_UNITS:
        return None
    return int(match.group(1)) * RATE_UNITS[match.group(2)]


def check_evaluation_range(period_seconds: int, evaluation_periods: int) -> None:
    """CloudWatch refuses an alarm whose period is not 10, 20, 30 or a multiple of 60, or whose evaluation range
    is longer than a day (periods under an hour) or a week."""
    if period_seconds not in HIGH_RESOLUTION_PERIODS and period_seconds % 60:
        raise ValueError(f"period_seconds must be 10, 20, 30 or a multiple of 60, got {period_seconds}")
    limit = WEEK_SECONDS if period_seconds >= HOUR else DAY_SECONDS
    if period_seconds * evaluation_periods > limit:
        raise ValueError(
            f"period_seconds x evaluation_periods ({period_seconds} x {evaluation_periods}) must be at most {limit} "
            f"seconds for a period {'of an hour or more' if limit == WEEK_SECONDS else 'under an hour'}"
        )


class QueueAlarmSettings(StrictModel):
    """A dead-letter queue alarm: any message visible is an alarm (threshold 1); only the timing is set."""

    period_seconds: int = Field(60, ge=10, description="Seconds per evaluated period.")
    evaluation_periods: int = Field(1, ge=1, description="Periods evaluated; all must breach.")

    @model_validator(mode="after")
    def _range_is_supported(self) -> QueueAlarmSettings:
        check_evaluation_range(self.period_seconds, self.evaluation_periods)
        return self


class AlarmSettings(StrictModel):
    """A metric alarm: the statistic reaches `threshold` in each of `evaluation_periods` periods."""

    threshold: float = Field(1, gt=0, description="Value that breaches (counts, or seconds for lag).")
    period_seconds: int = Field(300, ge=10, description="Seconds per evaluated period.")
    evaluation_periods: int = Field(1, ge=1, description="Periods evaluated; all must breach.")

    @model_validator(mode="after")
    def _range_is_supported(self) -> AlarmSettings:
        check_evaluation_range(self.period_seconds, self.evaluation_periods)
        return self


class DriftCheckAlarmSettings(StrictModel):
    """The scheduled drift check: its findings, and a run missing for longer than its schedule plus a margin."""

    failure_threshold: float = Field(
        1, gt=0, description="Broken replication paths or drifted resources in one run that raise the alarm."
    )
    staleness_margin_seconds: int = Field(
        3600, ge=60, description="How late a run may be, beyond the schedule's interval, before it is missing."
    )
    schedule_interval_seconds: int | None = Field(
        None,
        ge=60,
        description="Seconds between runs; needed when replication.drift_schedule is a cron() expression.",
    )


class MonitoringSettings(StrictModel):
    """Thresholds and periods of the alarms (every environment; replication's only where it runs)."""

    dead_letter_queues: QueueAlarmSettings = QueueAlarmSettings()
    function_errors: AlarmSettings = AlarmSettings(threshold=1, period_seconds=300)
    function_throttles: AlarmSettings = AlarmSettings(threshold=1, period_seconds=300)
    replication_lag: AlarmSettings = Field(
        AlarmSettings(threshold=900, period_seconds=300),
        description="Seconds from a prod change to its replica; 900 is S3 Replication Time Control's 15 minutes.",
    )
    replication_failures: AlarmSettings = AlarmSettings(threshold=1, period_seconds=300)
    pipe_failures: AlarmSettings = AlarmSettings(threshold=1, period_seconds=300)
    drift_check: DriftCheckAlarmSettings = DriftCheckAlarmSettings()


def staleness_window(interval_seconds: int, margin_seconds: int) -> tuple[int, int]:
    """(period, evaluation periods) of an alarm that fires when nothing happened for interval + margin: hours
    when the window is an hour or more (CloudWatch then allows a week), else minutes (a day)."""
    window = interval_seconds + margin_seconds
    period = HOUR if window >= HOUR else 60
    periods = math.ceil(window / period)
    check_evaluation_range(period, periods)
    return period, periods


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
    monitoring: MonitoringSettings = MonitoringSettings()
    deployment: DeploymentSettings | None = Field(
        None, description="The role every stack of this environment is deployed through; absent: the caller's own."
    )

    @model_validator(mode="after")
    def _drift_check_can_be_watched(self) -> EnvironmentSettings:
        self.drift_check_window()
        return self

    @field_validator("deployment")
    @classmethod
    def _deployment_role_is_in_the_account(
        cls, deployment: DeploymentSettings | None, info: ValidationInfo
    ) -> DeploymentSettings | None:
        # A field validator, so the error names the key (`deployment`); account_id is validated before it.
        account_id = info.data.get("account_id")
        if deployment is not None and account_id is not None and deployment.role_account() != account_id:
            raise ValueError(
                f"role_arn {deployment.role_arn} is in account {deployment.role_account()}, "
                f"but account_id is {account_id}: the role must be in the environment's own account"
            )
        return deployment

    def drift_check_window(self) -> tuple[int, int]:
        """(period, evaluation periods) after which a drift check that has not run is missing."""
        drift = self.monitoring.drift_check
        interval = drift.schedule_interval_seconds or schedule_interval_seconds(self.replication.drift_schedule)
        if interval is None:
            raise ValueError(
                f"monitoring.drift_check.schedule_interval_seconds is required: replication.drift_schedule "
                f"{self.replication.drift_schedule!r} has no fixed interval to watch the runs by"
            )
        try:
            return staleness_window(interval, drift.staleness_margin_seconds)
        except ValueError as err:
            raise ValueError(
                f"monitoring.drift_check: the schedule's interval ({interval} s) plus staleness_margin_seconds "
                f"({drift.staleness_margin_seconds} s) is longer than an alarm can watch: {err}"
            ) from err


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
