"""What every deploy target (local sandbox, AWS) offers the orchestrator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

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


@dataclass
class LayerResult:
    layer: str
    env: str
    operation: Operation
    outputs: dict[str, Any] = field(default_factory=dict)
    resource_count: int = 0
    changes: dict[str, int] = field(default_factory=dict)


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
