"""Settings of every environment, loaded from shared_config/ and validated."""

from __future__ import annotations

from pipeline_infra.settings.deployment import DeploymentSettings
from pipeline_infra.settings.loader import CONFIG_DIR_ENV, deep_merge, find_config_dir, load_settings
from pipeline_infra.settings.models import (
    AlarmSettings,
    ApprovedDifference,
    ApprovedDifferences,
    BillingSettings,
    DriftCheckAlarmSettings,
    EnvironmentSettings,
    FunctionSettings,
    FunctionsSettings,
    MonitoringSettings,
    NotificationSettings,
    ProjectSettings,
    QueueAlarmSettings,
    ReplicationSettings,
    Settings,
    StorageSettings,
    Subscription,
    TableSettings,
    UnmanagedApproval,
)
from pipeline_infra.settings.network import NetworkSettings

__all__ = [
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
    "MonitoringSettings",
    "NetworkSettings",
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
]
