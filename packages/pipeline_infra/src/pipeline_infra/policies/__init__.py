"""Policy documents of every role, bucket and queue."""

from __future__ import annotations

from pipeline_infra.policies import documents, network
from pipeline_infra.policies.documents import (
    NETWORK_INTERFACE_WILDCARD_ACTIONS,
    STREAM_LISTING_WILDCARD_ACTIONS,
    WILDCARD_ACTIONS,
    XRAY_WILDCARD_ACTIONS,
    PolicyDocument,
)
from pipeline_infra.policies.network import ENDPOINT_WILDCARD_ACTIONS

__all__ = [
    "ENDPOINT_WILDCARD_ACTIONS",
    "NETWORK_INTERFACE_WILDCARD_ACTIONS",
    "STREAM_LISTING_WILDCARD_ACTIONS",
    "WILDCARD_ACTIONS",
    "XRAY_WILDCARD_ACTIONS",
    "PolicyDocument",
    "documents",
    "network",
]
