"""The public surface of each package: an accidental change to `__all__` shows up here."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "pipeline_infra.settings": {
        "CONFIG_DIR_ENV",
        "AlarmSettings",
        "ApprovedDifference",
        "ApprovedDifferences",
        "BillingSettings",
        "DeploymentSettings",
        "DriftCheckAlarmSettings",
        "EnvironmentSettings",
        "FunctionSettings",
        "FunctionsSettings",
        "NetworkSettings",
        "MonitoringSettings",
        "NotificationSettings",
        "ProjectSettings",
        "QueueAlarmSettings",
        "ReplicationSettings",
        "Settings",
        "StorageSettings",
        "Subscription",
        "TableSettings",
        "UnmanagedApproval",
        "deep_merge",
        "find_config_dir",
        "load_settings",
    },
    "pipeline_infra.components": {
        "AlarmPublishers",
        "AlarmRule",
        "AlarmSpec",
        "Alarms",
        "AlarmsArgs",
        "ChangeCapture",
        "ChangeCaptureArgs",
        "Dashboard",
        "DashboardArgs",
        "DashboardContent",
        "DataBucket",
        "DataBucketArgs",
        "DriftCheckWatch",
        "DriftChecker",
        "DriftCheckerArgs",
        "EndpointAccess",
        "FunctionNetwork",
        "FunctionNetworkArgs",
        "FunctionSpec",
        "MessageQueue",
        "MessageQueueArgs",
        "NotificationTopics",
        "NotificationTopicsArgs",
        "PipelineFunction",
        "PipelineFunctionArgs",
        "PipelineTable",
        "PipelineTableArgs",
        "Processing",
        "ProcessingArgs",
        "ReplicaWriterRole",
        "ReplicaWriterRoleArgs",
        "ReplicationPath",
        "ReplicationSource",
        "ReplicationTarget",
        "Replicator",
        "ReplicatorArgs",
        "Retries",
        "SecondaryIndex",
        "TableBilling",
        "TopicSubscription",
        "TracingEndpoint",
        "TracingEndpointArgs",
        "VpcPlacement",
        "dashboard_body",
        "dead_letter_queue_alarm",
        "drift_check_alarms",
        "function_alarms",
        "pipe_alarm",
        "replication_alarms",
    },
    "pipeline_infra.components.aliases": {"RENAMED_TYPES", "SHARED_LAYER", "carry_over"},
    "pipeline_infra.function_environment": {
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
    },
    "pipeline_infra_tools.engine": {
        "PulumiProject",
        "RecordedResource",
        "RenderBackend",
        "ResourceBackend",
        "ResourceRequest",
        "StackOutputsStore",
        "StackResult",
        "run_program",
    },
    "pipeline_infra.policies": {
        "ENDPOINT_WILDCARD_ACTIONS",
        "NETWORK_INTERFACE_WILDCARD_ACTIONS",
        "STREAM_LISTING_WILDCARD_ACTIONS",
        "WILDCARD_ACTIONS",
        "XRAY_WILDCARD_ACTIONS",
        "PolicyDocument",
        "documents",
        "network",
    },
    "pipeline_infra.layers": {
        "LAYERS",
        "NAME_SUFFIX_OUTPUT",
        "NOTIFICATIONS",
        "PROCESSING",
        "REPLICATION",
        "REPLICA_WRITER_ROLE_ARN_OUTPUT",
        "STORAGE",
        "Stack",
        "project_name",
        "stack_closure",
        "stack_reference_name",
        "upstream_stacks",
    },
    "pipeline_infra.stack_config": {
        "CONFIG_DIR_ENV",
        "ENVIRONMENT_KEY",
        "FUNCTION_ARTIFACT_ENV",
        "FUNCTION_ARTIFACT_KEY",
        "SUFFIX_KEY",
    },
    "pipeline_infra.function_events": {
        "CONFIG_CHANGE_DETAIL_TYPE",
        "CONFIG_CHANGE_SOURCE",
        "OBJECT_CREATED",
        "OBJECT_DELETED",
        "OBJECT_TAGS_ADDED",
        "OBJECT_TAGS_DELETED",
        "S3_EVENT_SOURCE",
    },
    "pipeline_infra.replication_targets": {"targets_document"},
    "pipeline_infra.replication_paths": {"PIPE", "RULE", "arns_of_kind", "paths_document"},
    "pipeline_infra_tools.artifact": {
        "FUNCTION_ARTIFACT_ENV",
        "ArtifactError",
        "build_function_artifact",
        "find_repo_root",
        "function_artifact_path",
    },
    "pipeline_infra_tools.compatibility": {"SUPPORTED_LIBRARY", "check_supported"},
    "pipeline_infra_tools.sandbox.clients": {
        "EMULATOR_CLIENT_CONFIG",
        "RUNTIME_CLIENT_CONFIG",
        "RUNTIME_USER_AGENT",
        "emulator_client",
        "emulator_clients",
        "emulator_session",
    },
    "pipeline_infra_tools.deploy": {
        "DEFAULT_TARGET",
        "TARGET_ENV",
        "DeployTarget",
        "LayerResult",
        "Operation",
        "ProgressEvent",
    },
}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_public_names(module: str) -> None:
    imported = importlib.import_module(module)
    assert set(imported.__all__) == EXPECTED[module]
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.{name} is exported but missing"


VALUE_TYPES = {
    "EndpointAccess",
    "AlarmPublishers",
    "AlarmRule",
    "AlarmSpec",
    "DashboardContent",
    "DriftCheckWatch",
    "FunctionSpec",
    "ReplicationPath",
    "ReplicationSource",
    "ReplicationTarget",
    "Retries",
    "SecondaryIndex",
    "TableBilling",
    "TopicSubscription",
    "VpcPlacement",
}


def test_component_type_tokens_match_class_names() -> None:
    import inspect
    import sys

    components = importlib.import_module("pipeline_infra.components")
    for name in components.__all__:
        cls = getattr(components, name)
        if inspect.isclass(cls) and not name.endswith("Args") and name not in VALUE_TYPES:
            token = vars(sys.modules[cls.__module__])["TYPE_TOKEN"]
            assert token.endswith(f":{name}"), f"{name}'s type token {token} must end with :{name}"


def test_args_and_value_types_are_keyword_only_frozen_and_documented() -> None:
    import ast
    import dataclasses
    import inspect
    import itertools

    components = importlib.import_module("pipeline_infra.components")
    for name in components.__all__:
        cls = getattr(components, name)
        if not (name.endswith("Args") or name in VALUE_TYPES):
            continue
        params = getattr(cls, "__dataclass_params__", None)
        assert params is not None and params.frozen, f"{name} must be a frozen dataclass"
        assert all(f.kw_only for f in dataclasses.fields(cls)), f"{name} must be keyword-only"
        [definition] = ast.parse(inspect.getsource(cls)).body
        assert isinstance(definition, ast.ClassDef)
        body = definition.body
        documented = {
            target.target.id
            for target, after in itertools.pairwise(body)
            if isinstance(target, ast.AnnAssign)
            and isinstance(target.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        }
        undocumented = sorted({f.name for f in dataclasses.fields(cls)} - documented)
        assert not undocumented, f"{name}: fields without a docstring line under them: {undocumented}"


def test_components_take_no_settings_objects() -> None:
    """Args hold explicit values: the layer program or LayerContext takes them out of settings and names."""
    import ast
    from pathlib import Path

    components = importlib.import_module("pipeline_infra.components")
    for path in sorted(Path(components.__file__).parent.glob("*.py")):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        forbidden = {m for m in imported if m.startswith(("pipeline_infra.settings", "pipeline_infra.naming"))}
        assert not forbidden, f"{path.name} imports {sorted(forbidden)}"
