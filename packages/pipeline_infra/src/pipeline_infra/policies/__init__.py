"""Policy documents of every role, bucket and queue."""

from __future__ import annotations

from pipeline_infra.policies import documents
from pipeline_infra.policies.documents import XRAY_WILDCARD_ACTIONS, PolicyDocument

__all__ = ["XRAY_WILDCARD_ACTIONS", "PolicyDocument", "documents"]
