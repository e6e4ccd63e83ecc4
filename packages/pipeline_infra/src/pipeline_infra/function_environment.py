"""The environment variables the functions read, by name: the one home of these names in the library.

The contract is `pipeline_functions.constants` (the Lambda package, which this library must not import): every
name a handler reads and the infrastructure sets is repeated here with the same constant name and value, and
`tests/unit/test_function_environment.py` checks both that the two modules agree and that every rendered
function is given every variable its handler reads. Components use these constants, never string literals.
"""

from __future__ import annotations

# Set by the components from the stacks' outputs and settings; read by the handlers' settings.
ENVIRONMENT_ENV = "PIPELINE_ENVIRONMENT"
DATA_BUCKET_ENV = "DATA_BUCKET"
CONFIG_TABLE_ENV = "CONFIG_TABLE"
METADATA_TABLE_ENV = "METADATA_TABLE"
TASK_QUEUE_URL_ENV = "TASK_QUEUE_URL"
SUCCESS_TOPIC_ARN_ENV = "SUCCESS_TOPIC_ARN"
FAILURE_TOPIC_ARN_ENV = "FAILURE_TOPIC_ARN"
IDEMPOTENCY_TABLE_ENV = "IDEMPOTENCY_TABLE"
IDEMPOTENCY_TTL_SECONDS_ENV = "IDEMPOTENCY_TTL_SECONDS"
# JSON list of replication targets, built by `pipeline_infra.replication_targets.targets_document`.
REPLICATION_TARGETS_ENV = "REPLICATION_TARGETS"
REPLICATION_PREFIXES_ENV = "REPLICATION_PREFIXES"
# JSON list of the rules and the Pipe the drift checker reads back, built by
# `pipeline_infra.replication_paths.paths_document`.
REPLICATION_PATHS_ENV = "REPLICATION_PATHS"
PROPAGATE_DELETES_ENV = "PROPAGATE_DELETES"
MULTIPART_THRESHOLD_BYTES_ENV = "MULTIPART_THRESHOLD_BYTES"
REWRITE_MAX_BYTES_ENV = "REWRITE_MAX_BYTES"
REWRITE_IN_MEMORY_BYTES_ENV = "REWRITE_IN_MEMORY_BYTES"
VERBATIM_PREFIXES_ENV = "VERBATIM_PREFIXES"
DEAD_LETTER_QUEUE_URL_ENV = "DEAD_LETTER_QUEUE_URL"
ASYNC_MAX_ATTEMPTS_ENV = "ASYNC_MAX_ATTEMPTS"

# Powertools' own variables: set on every function, read by aws_lambda_powertools (the namespace also by us).
POWERTOOLS_SERVICE_NAME_ENV = "POWERTOOLS_SERVICE_NAME"
POWERTOOLS_METRICS_NAMESPACE_ENV = "POWERTOOLS_METRICS_NAMESPACE"
POWERTOOLS_LOG_LEVEL_ENV = "POWERTOOLS_LOG_LEVEL"
POWERTOOLS_TRACE_DISABLED_ENV = "POWERTOOLS_TRACE_DISABLED"
# The value of POWERTOOLS_METRICS_NAMESPACE_ENV; equal to `pipeline_functions.constants.METRICS_NAMESPACE`.
METRICS_NAMESPACE = "PipelineInfra"

__all__ = [
    "ASYNC_MAX_ATTEMPTS_ENV",
    "CONFIG_TABLE_ENV",
    "DATA_BUCKET_ENV",
    "DEAD_LETTER_QUEUE_URL_ENV",
    "ENVIRONMENT_ENV",
    "FAILURE_TOPIC_ARN_ENV",
    "IDEMPOTENCY_TABLE_ENV",
    "IDEMPOTENCY_TTL_SECONDS_ENV",
    "METADATA_TABLE_ENV",
    "METRICS_NAMESPACE",
    "MULTIPART_THRESHOLD_BYTES_ENV",
    "POWERTOOLS_LOG_LEVEL_ENV",
    "POWERTOOLS_METRICS_NAMESPACE_ENV",
    "POWERTOOLS_SERVICE_NAME_ENV",
    "POWERTOOLS_TRACE_DISABLED_ENV",
    "PROPAGATE_DELETES_ENV",
    "REPLICATION_PATHS_ENV",
    "REPLICATION_PREFIXES_ENV",
    "REPLICATION_TARGETS_ENV",
    "REWRITE_IN_MEMORY_BYTES_ENV",
    "REWRITE_MAX_BYTES_ENV",
    "SUCCESS_TOPIC_ARN_ENV",
    "TASK_QUEUE_URL_ENV",
    "VERBATIM_PREFIXES_ENV",
]
