"""Building blocks shared by the functions: configuration, clients, targets, rewriting, notifications, metrics,
and the warm instance each handler keeps its service in."""

from __future__ import annotations

from pipeline_functions.exceptions import RewriteError, UnparseableDocumentError
from pipeline_functions.shared.aws import Credentials, boto_config, client
from pipeline_functions.shared.notifications import Notification, Notifier
from pipeline_functions.shared.rewrite import Rewriter, document_format
from pipeline_functions.shared.targets import (
    AssumeRoleCredentialsProvider,
    CredentialsProvider,
    ReplicationTarget,
    StaticCredentialsProvider,
    TargetClientCache,
    TargetClients,
    own_credentials,
    parse_targets,
)
from pipeline_functions.shared.telemetry import emit_metric
from pipeline_functions.shared.warm import WarmInstance

__all__ = [
    "AssumeRoleCredentialsProvider",
    "Credentials",
    "CredentialsProvider",
    "Notification",
    "Notifier",
    "ReplicationTarget",
    "RewriteError",
    "Rewriter",
    "StaticCredentialsProvider",
    "TargetClientCache",
    "TargetClients",
    "UnparseableDocumentError",
    "WarmInstance",
    "boto_config",
    "client",
    "document_format",
    "emit_metric",
    "own_credentials",
    "parse_targets",
]
