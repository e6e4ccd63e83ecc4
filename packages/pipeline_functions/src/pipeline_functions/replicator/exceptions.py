"""Errors of the replicator. Raising one out of the handler hands the event to Lambda's async retries and DLQ."""

from __future__ import annotations

from pipeline_functions.exceptions import MalformedEventError, PipelineFunctionsError


class ReplicatorError(PipelineFunctionsError):
    """Base error of the replicator."""


class UnsupportedEventError(ReplicatorError, MalformedEventError):
    """The event is malformed, comes from an unknown source, or names a resource that is not the replicated one."""


class ReplicationFailedError(ReplicatorError):
    """At least one target could not be brought up to date; the message lists each target and reason."""


class ItemTooLargeError(ReplicatorError):
    """The rewritten DynamoDB item exceeds DynamoDB's 400 KB item limit."""
