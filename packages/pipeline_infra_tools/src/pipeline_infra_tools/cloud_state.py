"""What a refresh finds, in one shape for every target: each managed resource whose cloud state is not what its
record (or the code) says, property by property.

The local target builds it from its own reads of the emulator; the aws target from the engine's preview-only
refresh. `drift --live`, `refresh` and `deploy` print it; `to_json` is the `--format json` form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

# changed: properties differ; gone: deleted out of band; attached: something no stack records hangs on it.
ResourceStatus = Literal["changed", "gone", "attached"]


@dataclass(frozen=True)
class PropertyChange:
    """One property path where two sides disagree. `recorded` is the record's (or code's) value, `live` the cloud's;
    a side that has no value at this path is None and named in `absent` ("recorded" or "live")."""

    path: str
    recorded: Any
    live: Any
    absent: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "recorded": self.recorded, "live": self.live, "absent": list(self.absent)}


@dataclass(frozen=True)
class AttachedResource:
    """Something attached to a managed resource that no stack records: an inline policy, a rule target..."""

    kind: str  # "inline policy", "rule target", "subscription", "permission"
    name: str
    owner: str  # logical name of the managed resource it hangs on
    detail: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "owner": self.owner, "detail": self.detail}


@dataclass(frozen=True)
class RefreshedResource:
    layer: str
    env: str
    urn: str
    name: str  # logical name, as the program names it
    type: str
    physical: str  # the cloud's name or id
    status: ResourceStatus
    changes: tuple[PropertyChange, ...] = ()
    attached: tuple[AttachedResource, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "env": self.env,
            "urn": self.urn,
            "name": self.name,
            "type": self.type,
            "physical": self.physical,
            "status": self.status,
            "changes": [change.to_json() for change in self.changes],
            "attached": [item.to_json() for item in self.attached],
        }


@dataclass(frozen=True)
class RefreshResult:
    """One stack's refresh. `resources` holds only those that differ; `read` counts every resource looked at;
    `unread` lists, per type, inputs the target cannot read back (their recorded value stands in);
    `applied` says whether the record now holds the cloud's state (false for --preview-only)."""

    layer: str
    env: str
    read: int
    resources: tuple[RefreshedResource, ...] = ()
    unread: dict[str, tuple[str, ...]] = field(default_factory=dict)
    applied: bool = False

    @property
    def clean(self) -> bool:
        return not self.resources

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "env": self.env,
            "read": self.read,
            "applied": self.applied,
            "resources": [resource.to_json() for resource in self.resources],
            "unread": {type_: list(keys) for type_, keys in sorted(self.unread.items())},
        }
