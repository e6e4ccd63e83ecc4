"""Environment variable names the functions read. The infrastructure sets exactly these."""

from __future__ import annotations

ENVIRONMENT_ENV = "PIPELINE_ENVIRONMENT"
DATA_BUCKET_ENV = "DATA_BUCKET"
CONFIG_TABLE_ENV = "CONFIG_TABLE"
METADATA_TABLE_ENV = "METADATA_TABLE"
TASK_QUEUE_URL_ENV = "TASK_QUEUE_URL"
SUCCESS_TOPIC_ARN_ENV = "SUCCESS_TOPIC_ARN"
FAILURE_TOPIC_ARN_ENV = "FAILURE_TOPIC_ARN"
IDEMPOTENCY_TABLE_ENV = "IDEMPOTENCY_TABLE"
IDEMPOTENCY_TTL_SECONDS_ENV = "IDEMPOTENCY_TTL_SECONDS"
# JSON list of replication targets, see pipeline_functions.shared.targets for the shape.
REPLICATION_TARGETS_ENV = "REPLICATION_TARGETS"
REPLICATION_PREFIXES_ENV = "REPLICATION_PREFIXES"
# JSON list of the replication paths the drift checker checks are wired and switched on, see
# pipeline_functions.drift_checker.paths for the shape.
REPLICATION_PATHS_ENV = "REPLICATION_PATHS"
PROPAGATE_DELETES_ENV = "PROPAGATE_DELETES"
MULTIPART_THRESHOLD_BYTES_ENV = "MULTIPART_THRESHOLD_BYTES"
REWRITE_MAX_BYTES_ENV = "REWRITE_MAX_BYTES"
REWRITE_IN_MEMORY_BYTES_ENV = "REWRITE_IN_MEMORY_BYTES"
# JSON list of key prefixes (within the replicated ones) whose documents may be copied verbatim when they
# cannot be rewritten; such replicas are marked in their metadata and reported as approved differences.
VERBATIM_PREFIXES_ENV = "VERBATIM_PREFIXES"
# The replication DLQ: the replicator puts each change that finally failed there itself, one message per change.
DEAD_LETTER_QUEUE_URL_ENV = "DEAD_LETTER_QUEUE_URL"
# Lambda's async retries + 1: the attempt after which a failing change is final (dead-lettered, `failed`).
ASYNC_MAX_ATTEMPTS_ENV = "ASYNC_MAX_ATTEMPTS"
# "false" makes the replicator write with its own credentials instead of assuming each target's writer role
# (a single-account setup, or a caller that injects credentials some other way).
REPLICATION_ASSUME_ROLES_ENV = "REPLICATION_ASSUME_ROLES"
# botocore's own names: read here so an explicit retry Config still honours them.
AWS_MAX_ATTEMPTS_ENV = "AWS_MAX_ATTEMPTS"
AWS_RETRY_MODE_ENV = "AWS_RETRY_MODE"

DEFAULT_REPLICATION_PREFIXES = ("config/", "schemas/")
# S3 CopyObject accepts up to 5 GiB; above that only UploadPartCopy works.
DEFAULT_MULTIPART_THRESHOLD_BYTES = 5 * 1024**3
# Documents up to this size are parsed in memory; larger ones are rewritten as a stream.
DEFAULT_REWRITE_IN_MEMORY_BYTES = 1024**2
# Larger documents are refused (dead-lettered), never copied unrewritten: see the replicator's README section.
DEFAULT_REWRITE_MAX_BYTES = 1024**3
DEFAULT_ASYNC_MAX_ATTEMPTS = 3
DEFAULT_IDEMPOTENCY_TTL_SECONDS = 3600
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_RETRY_MODE = "standard"
METRICS_NAMESPACE = "PipelineInfra"

# The events the functions receive: the rules and the Pipe the infrastructure creates must match exactly these.
S3_EVENT_SOURCE = "aws.s3"
OBJECT_CREATED = "Object Created"
OBJECT_DELETED = "Object Deleted"
OBJECT_TAGS_ADDED = "Object Tags Added"
OBJECT_TAGS_DELETED = "Object Tags Deleted"
# What the config table's Pipe puts on the replication bus.
CONFIG_CHANGE_SOURCE = "pipeline-infra.config-table"
CONFIG_CHANGE_DETAIL_TYPE = "Config Item Changed"
# What `pipeline-infra resync` sends the replicator: bring one object or item of one target in line with prod.
RESYNC_SOURCE = "pipeline-infra.resync"
RESYNC_OBJECT_DETAIL_TYPE = "Resync Object"
RESYNC_ITEM_DETAIL_TYPE = "Resync Item"
