"""The replicator's configuration, read once from the environment the infrastructure sets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline_functions import constants as c
from pipeline_functions.shared.config import optional_str, read_bool, read_int, read_json, read_prefixes, require_str
from pipeline_functions.shared.rewrite import DEFAULT_LIMITS, RewriteLimits
from pipeline_functions.shared.targets import ReplicationTarget, parse_targets

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class ReplicatorSettings:
    """Source (the function's own environment, prod) and where and how to replicate it."""

    environment: str
    source_bucket: str
    source_table: str
    targets: tuple[ReplicationTarget, ...]
    prefixes: tuple[str, ...] = c.DEFAULT_REPLICATION_PREFIXES
    propagate_deletes: bool = True
    multipart_threshold_bytes: int = c.DEFAULT_MULTIPART_THRESHOLD_BYTES
    limits: RewriteLimits = DEFAULT_LIMITS
    dead_letter_queue_url: str | None = None
    async_max_attempts: int = c.DEFAULT_ASYNC_MAX_ATTEMPTS
    success_topic_arn: str | None = None
    failure_topic_arn: str | None = None
    idempotency_table: str | None = None
    idempotency_ttl_seconds: int = c.DEFAULT_IDEMPOTENCY_TTL_SECONDS
    assume_roles: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReplicatorSettings:
        return cls(
            environment=require_str(c.ENVIRONMENT_ENV, environ),
            source_bucket=require_str(c.DATA_BUCKET_ENV, environ),
            source_table=require_str(c.CONFIG_TABLE_ENV, environ),
            targets=parse_targets(read_json(c.REPLICATION_TARGETS_ENV, [], environ)),
            prefixes=read_prefixes(c.REPLICATION_PREFIXES_ENV, c.DEFAULT_REPLICATION_PREFIXES, environ),
            propagate_deletes=read_bool(c.PROPAGATE_DELETES_ENV, True, environ),
            # CopyObject stops at 5 GiB, so the threshold can never be above that; S3 parts are at least 5 MiB.
            multipart_threshold_bytes=min(
                read_int(c.MULTIPART_THRESHOLD_BYTES_ENV, c.DEFAULT_MULTIPART_THRESHOLD_BYTES, environ, minimum=1),
                c.DEFAULT_MULTIPART_THRESHOLD_BYTES,
            ),
            limits=rewrite_limits(environ),
            dead_letter_queue_url=optional_str(c.DEAD_LETTER_QUEUE_URL_ENV, environ),
            async_max_attempts=read_int(c.ASYNC_MAX_ATTEMPTS_ENV, c.DEFAULT_ASYNC_MAX_ATTEMPTS, environ, minimum=1),
            success_topic_arn=optional_str(c.SUCCESS_TOPIC_ARN_ENV, environ),
            failure_topic_arn=optional_str(c.FAILURE_TOPIC_ARN_ENV, environ),
            idempotency_table=optional_str(c.IDEMPOTENCY_TABLE_ENV, environ),
            idempotency_ttl_seconds=read_int(
                c.IDEMPOTENCY_TTL_SECONDS_ENV, c.DEFAULT_IDEMPOTENCY_TTL_SECONDS, environ, minimum=1
            ),
            assume_roles=read_bool(c.REPLICATION_ASSUME_ROLES_ENV, True, environ),
        )


def rewrite_limits(environ: Mapping[str, str] | None = None) -> RewriteLimits:
    """The rewrite limits the infrastructure sets on the replicator and the drift checker alike."""
    return RewriteLimits(
        max_bytes=read_int(c.REWRITE_MAX_BYTES_ENV, c.DEFAULT_REWRITE_MAX_BYTES, environ),
        in_memory_bytes=read_int(c.REWRITE_IN_MEMORY_BYTES_ENV, c.DEFAULT_REWRITE_IN_MEMORY_BYTES, environ),
        verbatim_prefixes=read_prefixes(c.VERBATIM_PREFIXES_ENV, (), environ),
    )
