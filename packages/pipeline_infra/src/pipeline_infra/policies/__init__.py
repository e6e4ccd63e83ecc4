"""Policy documents of every role, bucket and queue."""

from __future__ import annotations

from pipeline_infra.policies import documents
from pipeline_infra.policies.documents import (
    STREAM_LISTING_WILDCARD_ACTIONS,
    WILDCARD_ACTIONS,
    XRAY_WILDCARD_ACTIONS,
    PolicyDocument,
)

__all__ = [
    "STREAM_LISTING_WILDCARD_ACTIONS",
    "WILDCARD_ACTIONS",
    "XRAY_WILDCARD_ACTIONS",
    "PolicyDocument",
    "documents",
]
