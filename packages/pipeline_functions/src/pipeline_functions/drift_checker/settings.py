"""The drift checker's configuration: the same source, targets and rules the replicator reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipeline_functions import constants as c
from pipeline_functions.drift_checker.paths import ReplicationPath, parse_paths
from pipeline_functions.replicator.settings import rewrite_limits
from pipeline_functions.shared.config import optional_str, read_bool, read_json, read_prefixes, require_str
from pipeline_functions.shared.rewrite import DEFAULT_LIMITS, RewriteLimits
from pipeline_functions.shared.targets import ReplicationTarget, parse_targets

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class DriftCheckerSettings:
    """Prod (the function's own environment) and the lower environments its replicated data is compared with."""

    environment: str
    source_bucket: str
    source_table: str
    targets: tuple[ReplicationTarget, ...]
    prefixes: tuple[str, ...] = c.DEFAULT_REPLICATION_PREFIXES
    limits: RewriteLimits = DEFAULT_LIMITS
    success_topic_arn: str | None = None
    failure_topic_arn: str | None = None
    assume_roles: bool = True
    paths: tuple[ReplicationPath, ...] = ()
    """The rules and the Pipe that feed the replicator, checked to be switched on and still delivering."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DriftCheckerSettings:
        """Read the settings; raises ConfigurationError naming the first variable that is missing or invalid."""
        return cls(
            environment=require_str(c.ENVIRONMENT_ENV, environ),
            source_bucket=require_str(c.DATA_BUCKET_ENV, environ),
            source_table=require_str(c.CONFIG_TABLE_ENV, environ),
            targets=parse_targets(read_json(c.REPLICATION_TARGETS_ENV, [], environ)),
            prefixes=read_prefixes(c.REPLICATION_PREFIXES_ENV, c.DEFAULT_REPLICATION_PREFIXES, environ),
            limits=rewrite_limits(environ),
            success_topic_arn=optional_str(c.SUCCESS_TOPIC_ARN_ENV, environ),
            failure_topic_arn=optional_str(c.FAILURE_TOPIC_ARN_ENV, environ),
            assume_roles=read_bool(c.REPLICATION_ASSUME_ROLES_ENV, True, environ),
            paths=parse_paths(read_json(c.REPLICATION_PATHS_ENV, [], environ)),
        )
