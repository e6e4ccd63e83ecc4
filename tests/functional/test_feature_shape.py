"""Every function has one shape, a pinned public surface, settings that name what is wrong, one warm service."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import threading
from typing import Any

import pytest

from pipeline_functions import constants as c
from pipeline_functions.exceptions import ConfigurationError, PipelineFunctionsError
from pipeline_functions.shared.aws import boto_config
from pipeline_functions.shared.warm import WarmInstance

FEATURES = ("replicator", "validator", "task_processor", "drift_checker")
SHAPE = ("handler", "service", "settings", "exceptions")

# (feature, settings class, service class, base error) for each function.
PARTS = {
    "replicator": ("ReplicatorSettings", "Replicator", "ReplicatorError"),
    "validator": ("ValidatorSettings", "Validator", "ValidatorError"),
    "task_processor": ("TaskSettings", "TaskRunner", "TaskProcessorError"),
    "drift_checker": ("DriftCheckerSettings", "DriftChecker", "DriftCheckerError"),
}

PUBLIC_API = {
    "pipeline_functions": [],
    "pipeline_functions.replicator": [
        "ItemChange",
        "ItemTooLargeError",
        "ReplicationFailedError",
        "Replicator",
        "ReplicatorError",
        "ReplicatorSettings",
        "TargetResult",
        "UnsupportedEventError",
        "parse_event",
    ],
    "pipeline_functions.validator": [
        "InvalidFileError",
        "RecordValidator",
        "ValidationResult",
        "Validator",
        "ValidatorError",
        "ValidatorSettings",
        "dataset_of",
    ],
    "pipeline_functions.task_processor": [
        "InvalidTaskError",
        "Task",
        "TaskOutcome",
        "TaskProcessorError",
        "TaskRunner",
        "TaskSettings",
        "TaskStateError",
    ],
    "pipeline_functions.drift_checker": [
        "Difference",
        "DriftCheckError",
        "DriftChecker",
        "DriftCheckerError",
        "DriftCheckerSettings",
        "DriftKind",
        "DriftReport",
        "EnvironmentDrift",
        "EnvironmentStore",
        "PathCheck",
        "ReplicationPath",
        "check_paths",
        "compare_environments",
        "first_difference",
    ],
    "pipeline_functions.shared": [
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
    ],
}

# Names other packages import by path; moving one breaks pipeline_infra_tools or the deployed handler strings.
STABLE_PATHS = {
    "pipeline_functions.drift_checker.compare": ["Difference", "DriftKind", "EnvironmentStore", "compare_environments"],
    "pipeline_functions.replicator.items": ["SEQUENCE_ATTR", "to_dynamodb", "to_python"],
    "pipeline_functions.shared.targets": ["ReplicationTarget", "TargetClients", "parse_targets"],
    **{f"pipeline_functions.{feature}.handler": ["lambda_handler"] for feature in FEATURES},
}

# Every variable a function needs, and a value each of them accepts.
ENVIRON = {
    c.ENVIRONMENT_ENV: "prod",
    c.DATA_BUCKET_ENV: "company-data-prod-us-east-1-pl01",
    c.CONFIG_TABLE_ENV: "ddb-config-prod-pl01",
    c.METADATA_TABLE_ENV: "ddb-metadata-prod-pl01",
    c.TASK_QUEUE_URL_ENV: "https://sqs.us-east-1.amazonaws.com/123456789012/sqs-tasks-prod-pl01",
}
REQUIRED = {
    "replicator": (c.ENVIRONMENT_ENV, c.DATA_BUCKET_ENV, c.CONFIG_TABLE_ENV),
    "validator": (c.ENVIRONMENT_ENV, c.METADATA_TABLE_ENV, c.TASK_QUEUE_URL_ENV),
    "task_processor": (c.ENVIRONMENT_ENV, c.METADATA_TABLE_ENV),
    "drift_checker": (c.ENVIRONMENT_ENV, c.DATA_BUCKET_ENV, c.CONFIG_TABLE_ENV),
}
# One variable per function that is present but does not hold what is expected.
INVALID = {
    "replicator": (c.MULTIPART_THRESHOLD_BYTES_ENV, "0"),
    "validator": (c.ENVIRONMENT_ENV, "   "),
    "task_processor": (c.METADATA_TABLE_ENV, ""),
    "drift_checker": (c.REPLICATION_PREFIXES_ENV, "config/"),
}


def settings_class(feature: str) -> Any:
    return getattr(importlib.import_module(f"pipeline_functions.{feature}.settings"), PARTS[feature][0])


@pytest.mark.parametrize("feature", FEATURES)
def test_each_feature_has_handler_service_settings_and_exceptions(feature: str) -> None:
    package = importlib.import_module(f"pipeline_functions.{feature}")
    modules = {name: importlib.import_module(f"{package.__name__}.{name}") for name in SHAPE}
    settings_name, service_name, error_name = PARTS[feature]
    # The handler is thin: an entry point and the warm service it runs.
    handler = modules["handler"]
    assert callable(handler.lambda_handler)
    assert isinstance(handler.service, WarmInstance)
    # The service and its settings live where the shape says, and the package exports both.
    service_class = getattr(modules["service"], service_name)
    assert service_class.__module__ == modules["service"].__name__
    settings = getattr(modules["settings"], settings_name)
    assert settings.__module__ == modules["settings"].__name__
    assert dataclasses.is_dataclass(settings) and settings.__dataclass_params__.frozen
    assert callable(settings.from_env)
    assert getattr(package, service_name) is service_class and getattr(package, settings_name) is settings
    # One base error deriving from the package's; every other error of the feature derives from it.
    base = getattr(modules["exceptions"], error_name)
    assert PipelineFunctionsError in base.__bases__
    errors = [
        cls
        for _, cls in inspect.getmembers(modules["exceptions"], inspect.isclass)
        if issubclass(cls, Exception) and cls.__module__ == modules["exceptions"].__name__
    ]
    assert errors and all(issubclass(cls, base) for cls in errors), errors
    assert getattr(package, error_name) is base


@pytest.mark.parametrize("module", sorted(PUBLIC_API))
def test_public_api_is_pinned(module: str) -> None:
    assert importlib.import_module(module).__all__ == PUBLIC_API[module]


@pytest.mark.parametrize("module", sorted(STABLE_PATHS))
def test_names_other_packages_import_stay_where_they_are(module: str) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in STABLE_PATHS[module] if not hasattr(imported, name)]
    assert not missing, f"{module} no longer has {missing}"


@pytest.mark.parametrize(("feature", "variable"), [(f, v) for f in FEATURES for v in REQUIRED[f]])
def test_a_missing_variable_is_named(feature: str, variable: str) -> None:
    environ = {name: value for name, value in ENVIRON.items() if name != variable}
    with pytest.raises(ConfigurationError, match=rf"\b{variable}\b"):
        settings_class(feature).from_env(environ)


@pytest.mark.parametrize("feature", FEATURES)
def test_an_invalid_variable_is_named(feature: str) -> None:
    variable, value = INVALID[feature]
    with pytest.raises(ConfigurationError, match=rf"\b{variable}\b"):
        settings_class(feature).from_env({**ENVIRON, variable: value})


@pytest.mark.parametrize("feature", FEATURES)
def test_settings_are_read_from_the_environment_and_frozen(feature: str) -> None:
    settings = settings_class(feature).from_env(ENVIRON)
    assert settings.environment == "prod"
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.environment = "dev"


def test_the_retry_configuration_names_a_bad_variable() -> None:
    assert boto_config({c.AWS_RETRY_MODE_ENV: "adaptive", c.AWS_MAX_ATTEMPTS_ENV: "3"}).retries == {
        "mode": "adaptive",
        "max_attempts": 3,
    }
    with pytest.raises(ConfigurationError, match=c.AWS_RETRY_MODE_ENV):
        boto_config({c.AWS_RETRY_MODE_ENV: "eager"})
    with pytest.raises(ConfigurationError, match=c.AWS_MAX_ATTEMPTS_ENV):
        boto_config({c.AWS_MAX_ATTEMPTS_ENV: "many"})


class Counting:
    """A factory that counts its calls; ``fail`` makes the next call raise."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail = False

    def __call__(self) -> object:
        self.calls += 1
        if self.fail:
            self.fail = False
            raise ConfigurationError("environment variable X is not set")
        return object()


def test_a_warm_instance_is_built_once_and_rebuilt_after_reset() -> None:
    factory = Counting()
    warm = WarmInstance(factory)
    # GIVEN nothing built at creation (a cold start pays only when the handler runs)
    assert factory.calls == 0 and not warm.built
    # WHEN it is used again and again
    first = warm.get()
    # THEN the factory ran once and the same instance comes back
    assert warm.get() is first and warm.get() is first
    assert factory.calls == 1 and warm.built
    # AND after a reset the next use builds a new one
    warm.reset()
    assert not warm.built
    second = warm.get()
    assert second is not first and factory.calls == 2


def test_an_override_is_used_until_reset() -> None:
    factory = Counting()
    warm = WarmInstance(factory)
    injected = object()
    warm.override(injected)
    assert warm.get() is injected and factory.calls == 0
    warm.reset()
    assert warm.get() is not injected and factory.calls == 1


def test_a_failed_build_raises_and_is_tried_again() -> None:
    factory = Counting()
    factory.fail = True
    warm = WarmInstance(factory)
    with pytest.raises(ConfigurationError):
        warm.get()
    assert not warm.built
    assert warm.get() is warm.get() and factory.calls == 2


def test_concurrent_first_uses_build_one_instance() -> None:
    started = threading.Barrier(8)
    calls: list[int] = []

    def slow_factory() -> object:
        calls.append(1)
        threading.Event().wait(0.05)  # widen the window in which a second build could start
        return object()

    warm = WarmInstance(slow_factory)
    seen: list[object] = []

    def use() -> None:
        started.wait()
        seen.append(warm.get())

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(calls) == 1
    assert len(seen) == 8 and all(instance is seen[0] for instance in seen)


@pytest.mark.parametrize("feature", FEATURES)
def test_each_handler_builds_its_service_from_the_environment_once(
    feature: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = importlib.import_module(f"pipeline_functions.{feature}.handler")
    for name, value in {**ENVIRON, "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    handler.service.reset()
    try:
        service = handler.service.get()
        assert type(service).__name__ == PARTS[feature][1]
        assert service.settings == settings_class(feature).from_env(ENVIRON)
        assert handler.service.get() is service
    finally:
        handler.service.reset()
