"""The public surface of each package: an accidental change to `__all__` shows up here."""

from __future__ import annotations

import importlib

import pytest

EXPECTED = {
    "pipeline_infra.settings": {
        "CONFIG_DIR_ENV",
        "ApprovedDifference",
        "ApprovedDifferences",
        "BillingSettings",
        "EnvironmentSettings",
        "FunctionSettings",
        "FunctionsSettings",
        "NotificationSettings",
        "ProjectSettings",
        "ReplicationSettings",
        "Settings",
        "StorageSettings",
        "Subscription",
        "TableSettings",
        "deep_merge",
        "find_config_dir",
        "load_settings",
    },
    "pipeline_infra.components": {
        "ChangeCapture",
        "ChangeCaptureArgs",
        "DataBucket",
        "DataBucketArgs",
        "DriftChecker",
        "DriftCheckerArgs",
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
        "ReplicationSource",
        "ReplicationTarget",
        "Replicator",
        "ReplicatorArgs",
        "SecondaryIndex",
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
    "pipeline_infra.policies": {"XRAY_WILDCARD_ACTIONS", "PolicyDocument", "documents"},
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


DATA_CLASSES = {"ReplicationSource", "ReplicationTarget", "SecondaryIndex"}


def test_component_type_tokens_match_class_names() -> None:
    import inspect

    components = importlib.import_module("pipeline_infra.components")
    for name in components.__all__:
        cls = getattr(components, name)
        if inspect.isclass(cls) and not name.endswith("Args") and name not in DATA_CLASSES:
            source = inspect.getsource(cls)
            assert f':{name}", name' in source, f"{name}'s type token must end with :{name}"
