"""Operator commands on a deployed environment: replaying the replication DLQ and resynchronising replicas."""

from __future__ import annotations

from pipeline_infra_tools.operations.redrive import RedriveReport, redrive
from pipeline_infra_tools.operations.resync import ResyncReport, SourceStack, resync

__all__ = ["RedriveReport", "ResyncReport", "SourceStack", "redrive", "resync"]
