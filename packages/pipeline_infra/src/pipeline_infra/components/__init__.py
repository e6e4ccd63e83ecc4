"""Pulumi components: one per module, type token `pipeline-infra:<layer>:<Class>` (`shared` when several layers use it).

Args are keyword-only frozen dataclasses of explicit values (Pulumi inputs, numbers, strings and the small value
types below); the layer program or `LayerContext` takes those values out of settings.
"""

from __future__ import annotations

from pipeline_infra.components.alarms import (
    AlarmRule,
    Alarms,
    AlarmsArgs,
    AlarmSpec,
    DriftCheckWatch,
    dead_letter_queue_alarm,
    drift_check_alarms,
    function_alarms,
    pipe_alarm,
    replication_alarms,
)
from pipeline_infra.components.change_capture import ChangeCapture, ChangeCaptureArgs, ReplicationPath
from pipeline_infra.components.dashboard import Dashboard, DashboardArgs, DashboardContent, dashboard_body
from pipeline_infra.components.data_bucket import DataBucket, DataBucketArgs
from pipeline_infra.components.drift_checker import DriftChecker, DriftCheckerArgs
from pipeline_infra.components.endpoints import EndpointAccess
from pipeline_infra.components.function_network import FunctionNetwork, FunctionNetworkArgs
from pipeline_infra.components.message_queue import MessageQueue, MessageQueueArgs
from pipeline_infra.components.notification_topics import (
    AlarmPublishers,
    NotificationTopics,
    NotificationTopicsArgs,
    TopicSubscription,
)
from pipeline_infra.components.pipeline_function import FunctionSpec, PipelineFunction, PipelineFunctionArgs
from pipeline_infra.components.pipeline_table import PipelineTable, PipelineTableArgs, SecondaryIndex, TableBilling
from pipeline_infra.components.processing import Processing, ProcessingArgs
from pipeline_infra.components.replica_writer import ReplicaWriterRole, ReplicaWriterRoleArgs
from pipeline_infra.components.replication_source import ReplicationSource
from pipeline_infra.components.replicator import ReplicationTarget, Replicator, ReplicatorArgs
from pipeline_infra.components.targets import Retries
from pipeline_infra.components.tracing_endpoint import TracingEndpoint, TracingEndpointArgs
from pipeline_infra.components.vpc_placement import VpcPlacement

__all__ = [
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
]
