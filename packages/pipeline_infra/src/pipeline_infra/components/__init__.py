"""Pulumi components: one per module, type token `pipeline-infra:<layer>:<Class>`."""

from __future__ import annotations

from pipeline_infra.components.change_capture import ChangeCapture, ChangeCaptureArgs
from pipeline_infra.components.data_bucket import DataBucket, DataBucketArgs
from pipeline_infra.components.drift_checker import DriftChecker, DriftCheckerArgs
from pipeline_infra.components.message_queue import MessageQueue, MessageQueueArgs
from pipeline_infra.components.notification_topics import NotificationTopics, NotificationTopicsArgs
from pipeline_infra.components.pipeline_function import PipelineFunction, PipelineFunctionArgs
from pipeline_infra.components.pipeline_table import PipelineTable, PipelineTableArgs, SecondaryIndex
from pipeline_infra.components.processing import Processing, ProcessingArgs
from pipeline_infra.components.replica_writer import ReplicaWriterRole, ReplicaWriterRoleArgs
from pipeline_infra.components.replication_source import ReplicationSource
from pipeline_infra.components.replicator import ReplicationTarget, Replicator, ReplicatorArgs

__all__ = [
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
]
