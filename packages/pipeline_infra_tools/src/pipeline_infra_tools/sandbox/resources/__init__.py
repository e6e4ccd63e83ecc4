"""One handler per supported resource type, grouped by AWS service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline_infra_tools.sandbox.resources import (
    cloudwatch,
    dynamodb,
    events,
    functions,
    iam,
    kms,
    messaging,
    network,
    pipes,
    s3,
)
from pipeline_infra_tools.sandbox.resources.base import Clients, ResourceContext, ResourceHandler

if TYPE_CHECKING:
    from collections.abc import Mapping

HANDLERS: Mapping[str, ResourceHandler] = {
    **s3.HANDLERS,
    **dynamodb.HANDLERS,
    **messaging.HANDLERS,
    **iam.HANDLERS,
    **events.HANDLERS,
    **functions.HANDLERS,
    **pipes.HANDLERS,
    **network.HANDLERS,
    **cloudwatch.HANDLERS,
    **kms.HANDLERS,
}

__all__ = ["HANDLERS", "Clients", "ResourceContext", "ResourceHandler"]
