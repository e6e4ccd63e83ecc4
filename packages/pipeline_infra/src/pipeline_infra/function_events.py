"""The events the Lambda functions receive, as the rules and the Pipe must produce and match them.

`pipeline_functions.constants` is the contract; the library cannot import the Lambda package, so it keeps these
copies, and tests/unit/test_function_environment.py holds the two equal.
"""

from __future__ import annotations

S3_EVENT_SOURCE = "aws.s3"
OBJECT_CREATED = "Object Created"
OBJECT_DELETED = "Object Deleted"
OBJECT_TAGS_ADDED = "Object Tags Added"
OBJECT_TAGS_DELETED = "Object Tags Deleted"
CONFIG_CHANGE_SOURCE = "pipeline-infra.config-table"
CONFIG_CHANGE_DETAIL_TYPE = "Config Item Changed"

__all__ = [
    "CONFIG_CHANGE_DETAIL_TYPE",
    "CONFIG_CHANGE_SOURCE",
    "OBJECT_CREATED",
    "OBJECT_DELETED",
    "OBJECT_TAGS_ADDED",
    "OBJECT_TAGS_DELETED",
    "S3_EVENT_SOURCE",
]
