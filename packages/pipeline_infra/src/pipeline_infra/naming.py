"""Resource names: `{resource}-{purpose}-{env}-{suffix}`.

The data bucket is `{company}-data-{env}-{region}-{suffix}`, checked against S3's rules before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline_infra.exceptions import NamingError

if TYPE_CHECKING:
    from pipeline_infra.settings.models import EnvironmentSettings, ProjectSettings

# Tags the provider puts on every resource (see `context.default_tags`); drift finds the project's resources by them.
PROJECT_TAG = "Project"
ENVIRONMENT_TAG = "Environment"
LAYER_TAG = "Layer"
MANAGED_BY_TAG = "ManagedBy"

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# AWS limits by resource kind: IAM roles, Lambda functions and EventBridge rules 64, SQS/SNS 80, DynamoDB 255.
MAX_LENGTH = {
    "iam": 64,
    "lambda": 64,
    "rule": 64,
    "bus": 256,
    "pipe": 64,
    "sqs": 80,
    "sns": 256,
    "ddb": 255,
    "log": 512,
    "alarm": 255,
    "dashboard": 255,
}


def name_token(env: str, suffix: str) -> str:
    """The rule every name follows: `{resource}-{purpose}` + this token. Replicas are rewritten token for token."""
    return f"-{env}-{suffix}"


def bucket_token(env: str, region: str, suffix: str) -> str:
    """What the data bucket's name (`{company}-data-{env}-{region}-{suffix}`) has in place of the name token."""
    return f"-{env}-{region}-{suffix}".lower()


@dataclass(frozen=True)
class Names:
    """Every physical name of one environment, derived from settings only."""

    project: ProjectSettings
    env: EnvironmentSettings
    suffix_override: str | None = None

    @property
    def suffix(self) -> str:
        return self.suffix_override or self.env.suffix

    @property
    def name_token(self) -> str:
        """`-{env}-{suffix}`: the part of every resource name that says which environment it belongs to."""
        return name_token(self.env.name, self.suffix)

    def resource(self, resource: str, purpose: str) -> str:
        name = f"{resource}-{purpose}{self.name_token}"
        limit = MAX_LENGTH.get(resource, 64)
        if len(name) > limit:
            raise NamingError(f"{name!r} is {len(name)} characters; {resource} names allow at most {limit}")
        return name

    @property
    def bucket(self) -> str:
        name = f"{self.project.company}-data" + bucket_token(self.env.name, self.env.region, self.suffix)
        if len(name) > 63:
            raise NamingError(f"bucket name {name!r} is {len(name)} characters; S3 allows at most 63")
        if not BUCKET_NAME.match(name) or ".." in name:
            raise NamingError(
                f"bucket name {name!r} is not a valid S3 bucket name (lowercase letters, digits, '-', '.')"
            )
        return name

    @property
    def config_table(self) -> str:
        return self.resource("ddb", "config")

    @property
    def metadata_table(self) -> str:
        return self.resource("ddb", "metadata")

    @property
    def idempotency_table(self) -> str:
        return self.resource("ddb", "idempotency")

    def topic(self, outcome: str) -> str:
        return self.resource("sns", outcome)

    def queue(self, purpose: str) -> str:
        return self.resource("sqs", purpose)

    def function(self, purpose: str) -> str:
        return self.resource("lambda", purpose)

    def role(self, purpose: str) -> str:
        return self.resource("iam", purpose)

    def rule(self, purpose: str) -> str:
        return self.resource("rule", purpose)

    def role_arn(self, purpose: str) -> str:
        """Predictable ARN, so another environment can trust a role without a StackReference cycle."""
        return f"arn:aws:iam::{self.env.account_id}:role/{self.role(purpose)}"

    def alarm(self, purpose: str) -> str:
        return self.resource("alarm", purpose)

    def dashboard(self, purpose: str) -> str:
        return self.resource("dashboard", purpose)

    @property
    def alarm_arns(self) -> str:
        """Every alarm of this environment, as an ARN pattern: what may publish to its failure topic."""
        return f"arn:aws:cloudwatch:{self.env.region}:{self.env.account_id}:alarm:alarm-*{self.name_token}"

    def topic_arn(self, outcome: str) -> str:
        """Predictable ARN, so the topic's own policy can name it."""
        return f"arn:aws:sns:{self.env.region}:{self.env.account_id}:{self.topic(outcome)}"

    def log_group(self, function_purpose: str) -> str:
        return f"/aws/lambda/{self.function(function_purpose)}"

    def check_all(self) -> None:
        """Build every name once so a too-long suffix fails before anything runs."""
        _ = self.bucket
        for purpose in ("validator", "task-processor", "replicator", "drift-checker"):
            self.function(purpose)
            self.role(purpose)
        self.role("replica-writer")
        self.role("config-pipe")
        for purpose in ("replication-dlq", "tasks", "tasks-dlq"):
            self.queue(purpose)
        for purpose in ("s3-changes", "config-changes", "raw-uploads", "drift-schedule"):
            self.rule(purpose)
