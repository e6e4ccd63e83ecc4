"""The scheduled drift check in prod: replication paths read back, then compare; notify on what is wrong.

Each run first checks that the rules and the Pipe feeding the replicator are switched on and still deliver to
their targets (one failure notification per broken path, the check's result in the report), then compares the
data and emits DriftCount per environment, notifying each drifting one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from pipeline_functions.drift_checker.compare import DriftReport, EnvironmentStore, compare_environments
from pipeline_functions.drift_checker.wiring import PathCheck, check_paths
from pipeline_functions.shared.aws import client
from pipeline_functions.shared.notifications import Notification, Notifier
from pipeline_functions.shared.targets import (
    AssumeRoleCredentialsProvider,
    CredentialsProvider,
    TargetClientCache,
    own_credentials,
)
from pipeline_functions.shared.telemetry import emit_metric

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_pipes import EventBridgePipesClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

    from pipeline_functions.drift_checker.settings import DriftCheckerSettings

logger = Logger()
SOURCE = "drift-checker"
_LISTED = 20  # differences named in a notification; the rest are counted
PATH_CHECK = "replication-path"  # `details.check` of a broken path's notification, for subscribers to tell it apart


class DriftChecker:
    """Compares prod with every target; every AWS client and the credentials provider are injectable."""

    def __init__(
        self,
        settings: DriftCheckerSettings,
        *,
        s3_client: S3Client | None = None,
        dynamodb_client: DynamoDBClient | None = None,
        sns_client: SNSClient | None = None,
        events_client: EventBridgeClient | None = None,
        pipes_client: EventBridgePipesClient | None = None,
        credentials_provider: CredentialsProvider | None = None,
    ) -> None:
        self.settings = settings
        self._source = EnvironmentStore(
            environment=settings.environment,
            bucket=settings.source_bucket,
            config_table=settings.source_table,
            s3=s3_client or client("s3"),
            dynamodb=dynamodb_client or client("dynamodb"),
        )
        if credentials_provider is None:
            credentials_provider = AssumeRoleCredentialsProvider() if settings.assume_roles else own_credentials
        self._targets = TargetClientCache(credentials_provider)
        self._events = events_client or client("events")
        self._pipes = pipes_client or client("pipes")
        self._notifier = Notifier(sns_client or client("sns"), settings.success_topic_arn, settings.failure_topic_arn)

    def handle(self, event: Any) -> dict[str, Any]:
        """Run the check for a scheduled event; its ``id`` is the correlation id of logs and notifications."""
        event_id = str(event.get("id", "")) if isinstance(event, dict) else ""
        return self.run(event_id).to_dict()

    def run(self, correlation_id: str = "") -> DriftReport:
        """Check the replication paths and report each broken one; then compare, emit DriftCount per environment
        and notify each drifting one. Raise if the comparison cannot run (the paths are reported before)."""
        paths = check_paths(self.settings.paths, self._events, self._pipes)
        self._report_paths(paths, correlation_id)
        try:
            report = self._compare()
        except Exception as error:
            # A check that cannot run is itself an alert: operators hear of it, and raising sends the
            # event to the function's on-failure destination so `pipeline-infra redrive` can run it again.
            logger.exception("drift check failed", extra={"correlation_id": correlation_id})
            self._notifier.publish(
                Notification(
                    outcome="failed",
                    environment=self.settings.environment,
                    source=SOURCE,
                    resource=f"{self.settings.environment} -> {','.join(t.environment for t in self.settings.targets)}",
                    correlation_id=correlation_id,
                    reason=f"drift check could not run: {type(error).__name__}: {error}",
                )
            )
            raise
        self._report(report, correlation_id)
        return replace(report, replication_paths=paths)

    def _compare(self) -> DriftReport:
        return compare_environments(
            self._source,
            self.settings.targets,
            self._targets.get,
            prefixes=self.settings.prefixes,
            limits=self.settings.limits,
        )

    def _report(self, report: DriftReport, correlation_id: str) -> None:
        for env in report.environments:
            emit_metric("DriftCount", env.count, dimensions={"TargetEnvironment": env.environment})
            extra = {"environment": env.environment, "drift_count": env.count}
            if not env.differences:
                logger.info("no drift", extra={**extra, "objects": env.objects_compared, "items": env.items_compared})
                continue
            listed = [f"{d.kind} {d.resource_type} {d.identifier} {d.detail}".strip() for d in env.differences]
            logger.warning("drift found", extra={**extra, "differences": listed[:_LISTED]})
            self._notifier.publish(
                Notification(
                    outcome="drift",
                    environment=env.environment,
                    source=SOURCE,
                    resource=f"{report.source_environment} -> {env.environment}",
                    correlation_id=correlation_id,
                    reason=f"{env.count} difference(s) between {report.source_environment} and {env.environment}",
                    details={"differences": listed[:_LISTED], "not_listed": max(env.count - _LISTED, 0)},
                )
            )

    def _report_paths(self, checks: tuple[PathCheck, ...], correlation_id: str) -> None:
        environment = self.settings.environment
        broken = [check for check in checks if not check.ok]
        emit_metric("BrokenReplicationPaths", len(broken), dimensions={"Environment": environment})
        for check in checks:
            path = check.path
            extra = {
                "environment": environment,
                "resource": path.arn,
                "kind": path.kind,
                "correlation_id": correlation_id,
                "observed": check.observed,
            }
            if check.ok:
                logger.info("replication path wired and switched on", extra=extra)
                continue
            logger.error("replication path broken", extra={**extra, "problems": list(check.problems)})
            self._notifier.publish(
                Notification(
                    outcome="failed",
                    environment=environment,
                    source=SOURCE,
                    resource=path.arn,
                    correlation_id=correlation_id,
                    reason=f"replication {path.kind} {path.name}: {'; '.join(check.problems)}",
                    details={"check": PATH_CHECK, **check.to_dict()},
                )
            )
