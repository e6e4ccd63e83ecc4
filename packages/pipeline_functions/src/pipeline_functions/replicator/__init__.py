"""Replicates prod's config objects and config table items to dev and staging, rewritten for each."""

from __future__ import annotations

from pipeline_functions.replicator.events import ItemChange, parse_event
from pipeline_functions.replicator.exceptions import (
    ItemTooLargeError,
    ReplicationFailedError,
    ReplicatorError,
    UnsupportedEventError,
)
from pipeline_functions.replicator.results import TargetResult
from pipeline_functions.replicator.service import Replicator
from pipeline_functions.replicator.settings import ReplicatorSettings

__all__ = [
    "ItemChange",
    "ItemTooLargeError",
    "ReplicationFailedError",
    "Replicator",
    "ReplicatorError",
    "ReplicatorSettings",
    "TargetResult",
    "UnsupportedEventError",
    "parse_event",
]
