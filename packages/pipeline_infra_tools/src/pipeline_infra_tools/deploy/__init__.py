"""Deploy, preview and destroy stacks on a target: the local sandbox (default) or AWS."""

from __future__ import annotations

from pipeline_infra_tools.deploy.base import (
    DEFAULT_TARGET,
    TARGET_ENV,
    DeployTarget,
    LayerResult,
    Operation,
    ProgressEvent,
)

__all__ = ["DEFAULT_TARGET", "TARGET_ENV", "DeployTarget", "LayerResult", "Operation", "ProgressEvent"]
