"""Errors of the task processor. A raised one marks only its own SQS message as failed."""

from __future__ import annotations

from pipeline_functions.exceptions import PipelineFunctionsError


class TaskProcessorError(PipelineFunctionsError):
    """Base error of the task processor."""


class InvalidTaskError(TaskProcessorError):
    """The message body is not a task (not JSON, or no ``key``); it will end in the task DLQ."""


class TaskStateError(TaskProcessorError):
    """The task's metadata item is missing or not in a state that can be processed."""
