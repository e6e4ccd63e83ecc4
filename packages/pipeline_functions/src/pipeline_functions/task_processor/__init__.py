"""Consumes the task queue: marks each validated file PROCESSED, reporting partial batch failures."""

from __future__ import annotations

from pipeline_functions.task_processor.exceptions import InvalidTaskError, TaskProcessorError, TaskStateError
from pipeline_functions.task_processor.service import Task, TaskOutcome, TaskRunner
from pipeline_functions.task_processor.settings import TaskSettings

__all__ = [
    "InvalidTaskError",
    "Task",
    "TaskOutcome",
    "TaskProcessorError",
    "TaskRunner",
    "TaskSettings",
    "TaskStateError",
]
