"""Replication targets (from REPLICATION_TARGETS) and the credentials used to write to each of them.

REPLICATION_TARGETS is a JSON list of objects::

    {"environment": "dev", "bucket": "company-data-dev-us-east-1-pl01", "config_table": "ddb-config-dev-pl01",
     "writer_role_arn": "arn:aws:iam::123456789012:role/iam-replica-writer-dev-pl01", "region": "us-east-1",
     "replacements": [["company-data-prod-us-east-1-pl01", "company-data-dev-us-east-1-pl01"],
                      ["-prod-pl01", "-dev-pl01"]],
     "overlay": {"logging": {"level": "DEBUG"}}}
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pipeline_functions.exceptions import ConfigurationError
from pipeline_functions.shared.aws import Credentials, client

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient

_REQUIRED = ("environment", "bucket", "config_table", "region")


@dataclass(frozen=True)
class ReplicationTarget:
    """One lower environment that receives prod's configuration."""

    environment: str
    bucket: str
    config_table: str
    region: str
    writer_role_arn: str | None = None
    external_id: str | None = None
    replacements: tuple[tuple[str, str], ...] = ()
    overlay: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, raw: Any, position: int = 0) -> ReplicationTarget:
        where = f"REPLICATION_TARGETS[{position}]"
        if not isinstance(raw, dict):
            raise ConfigurationError(f"{where} must be an object, got {type(raw).__name__}")
        missing = [key for key in _REQUIRED if not isinstance(raw.get(key), str) or not raw[key]]
        if missing:
            raise ConfigurationError(f"{where} is missing {', '.join(missing)} (non-empty strings expected)")
        pairs = raw.get("replacements") or []
        if not isinstance(pairs, list) or not all(
            isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(s, str) and s for s in pair)
            for pair in pairs
        ):
            raise ConfigurationError(f"{where}.replacements must be a list of [from, to] string pairs")
        overlay = raw.get("overlay") or {}
        if not isinstance(overlay, dict):
            raise ConfigurationError(f"{where}.overlay must be an object, got {type(overlay).__name__}")
        unknown = set(raw) - {*_REQUIRED, "writer_role_arn", "external_id", "replacements", "overlay"}
        if unknown:
            raise ConfigurationError(f"{where} has unknown keys {sorted(unknown)}")
        return cls(
            environment=raw["environment"],
            bucket=raw["bucket"],
            config_table=raw["config_table"],
            region=raw["region"],
            writer_role_arn=raw.get("writer_role_arn") or None,
            external_id=raw.get("external_id") or None,
            replacements=tuple((str(a), str(b)) for a, b in pairs),
            overlay=overlay,
        )


def parse_targets(raw: Any) -> tuple[ReplicationTarget, ...]:
    """Validate the decoded REPLICATION_TARGETS value."""
    if not isinstance(raw, list):
        raise ConfigurationError(f"REPLICATION_TARGETS must be a JSON list, got {type(raw).__name__}")
    targets = tuple(ReplicationTarget.from_dict(item, index) for index, item in enumerate(raw))
    names = [target.environment for target in targets]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"REPLICATION_TARGETS names an environment twice: {names}")
    return targets


class CredentialsProvider(Protocol):
    """Returns the credentials to write to ``target`` with, or None to use the function's own."""

    def __call__(self, target: ReplicationTarget) -> Credentials | None: ...


def own_credentials(target: ReplicationTarget) -> Credentials | None:
    """Write with the function's own credentials (single account, or roles not enforced)."""
    return None


class StaticCredentialsProvider:
    """Credentials obtained elsewhere, keyed by writer role ARN (e.g. assumed before IAM enforcement starts)."""

    def __init__(self, by_role_arn: Mapping[str, Credentials]) -> None:
        self._by_role_arn = dict(by_role_arn)

    def __call__(self, target: ReplicationTarget) -> Credentials | None:
        if target.writer_role_arn is None:
            return None
        try:
            return self._by_role_arn[target.writer_role_arn]
        except KeyError:
            raise ConfigurationError(f"no credentials were given for writer role {target.writer_role_arn}") from None


class AssumeRoleCredentialsProvider:
    """Assumes each target's writer role through STS and caches the credentials until shortly before they expire."""

    def __init__(
        self,
        sts_client: STSClient | None = None,
        *,
        session_name: str = "pipeline-replicator",
        refresh_margin: timedelta = timedelta(minutes=5),
        duration_seconds: int = 3600,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sts = sts_client
        self._session_name = session_name
        self._margin = refresh_margin
        self._duration = duration_seconds
        self._clock = clock
        self._cache: dict[str, Credentials] = {}
        self._lock = threading.Lock()

    def __call__(self, target: ReplicationTarget) -> Credentials | None:
        role_arn = target.writer_role_arn
        if role_arn is None:
            return None
        with self._lock:
            cached = self._cache.get(role_arn)
            if cached is not None and cached.expiration - self._margin > self._clock():
                return cached
            if self._sts is None:
                self._sts = client("sts")
            if target.external_id:  # the writer role's trust requires it (settings' replication.external_id)
                response = self._sts.assume_role(
                    RoleArn=role_arn,
                    RoleSessionName=self._session_name,
                    DurationSeconds=self._duration,
                    ExternalId=target.external_id,
                )
            else:
                response = self._sts.assume_role(
                    RoleArn=role_arn, RoleSessionName=self._session_name, DurationSeconds=self._duration
                )
            raw = response["Credentials"]
            expiration = raw["Expiration"]
            if expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=UTC)
            credentials = Credentials(raw["AccessKeyId"], raw["SecretAccessKey"], raw["SessionToken"], expiration)
            self._cache[role_arn] = credentials
            return credentials


@dataclass(frozen=True)
class TargetClients:
    """Clients that can read and write one target environment's bucket and config table."""

    s3: S3Client
    dynamodb: DynamoDBClient


class TargetClientCache:
    """S3 and DynamoDB clients per target, rebuilt only when the provider hands out new credentials."""

    def __init__(self, provider: CredentialsProvider) -> None:
        self._provider = provider
        self._cache: dict[str, tuple[Credentials | None, TargetClients]] = {}
        self._lock = threading.Lock()

    def get(self, target: ReplicationTarget) -> TargetClients:
        credentials = self._provider(target)
        with self._lock:
            cached = self._cache.get(target.environment)
            if cached is not None and cached[0] == credentials:
                return cached[1]
            clients = TargetClients(
                s3=client("s3", credentials=credentials, region=target.region),
                dynamodb=client("dynamodb", credentials=credentials, region=target.region),
            )
            self._cache[target.environment] = (credentials, clients)
            return clients
