"""What every deploy target (local sandbox, AWS) offers the orchestrator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra_tools.cloud_state import RefreshResult

Operation = Literal["deploy", "preview", "destroy"]
TARGET_ENV = "PIPELINE_TARGET"
DEFAULT_TARGET = "local"


@dataclass(frozen=True)
class ProgressEvent:
    """One line of progress: a layer starting or ending, or one resource being handled."""

    layer: str
    env: str
    kind: Literal["layer-started", "resource", "layer-finished", "message"]
    message: str
    resource_type: str | None = None
    resource_name: str | None = None
    details: tuple[str, ...] = ()  # for a resource: each property it changes, one line each


@dataclass
class LayerResult:
    layer: str
    env: str
    operation: Operation
    outputs: dict[str, Any] = field(default_factory=dict)
    resource_count: int = 0
    changes: dict[str, int] = field(default_factory=dict)
    # Each resource that changes (or would), with its property changes: the `--format json` of deploy and preview.
    resource_changes: list[dict[str, Any]] = field(default_factory=list)
    # What the refresh before a deploy found (and so what the deploy put back), as RefreshResult.to_json().
    refreshed: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "env": self.env,
            "operation": self.operation,
            "resource_count": self.resource_count,
            "changes": dict(self.changes),
            "resources": list(self.resource_changes),
            "refreshed": self.refreshed,
            "outputs": dict(self.outputs),
        }


class DeployTarget(Protocol):
    """A place stacks are deployed to. One stack per (layer, env); layers are handled in dependency order."""

    name: str

    def preflight(self, env: str, layers: list[str]) -> None:
        """Check everything needed before anything changes; raise DeployError with the fix in its message."""
        ...

    def run(self, operation: Operation, layer: str, env: str, progress: Callable[[ProgressEvent], None]) -> LayerResult:
        """Deploy, preview or destroy one stack."""
        ...

    def outputs(self, layer: str, env: str) -> dict[str, Any] | None:
        """The stack's saved outputs, or None when the stack has never been deployed."""
        ...

    def refresh(
        self, layer: str, env: str, *, preview_only: bool, progress: Callable[[ProgressEvent], None]
    ) -> RefreshResult:
        """Read the stack's resources from the cloud; unless `preview_only`, record what was read."""
        ...
