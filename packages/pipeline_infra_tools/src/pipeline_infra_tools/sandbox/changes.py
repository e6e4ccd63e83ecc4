"""What a run changed (or would change) in a stack: compare the new resource graph with the saved one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import RecordedResource

Action = Literal["create", "update", "same", "delete"]
ACTIONS: tuple[Action, ...] = ("create", "update", "same", "delete")
CLOUD_TYPE_PREFIX = "aws:"


def is_cloud_resource(type_: str) -> bool:
    """Resources that exist in the cloud (not components, providers or stack references)."""
    return type_.startswith(CLOUD_TYPE_PREFIX)


@dataclass(frozen=True)
class ResourceChange:
    action: Action
    type: str
    name: str
    id: str


@dataclass
class StackChanges:
    changes: list[ResourceChange] = field(default_factory=list)
    # Saved resources the new graph no longer has (or has under a new id), in the order to delete them.
    stale: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {action: sum(1 for c in self.changes if c.action == action) for action in ACTIONS}


def diff_stack(saved: dict[str, Any] | None, resources: list[RecordedResource]) -> StackChanges:
    """Classify each new cloud resource against the saved stack, and list saved ones to delete."""
    previous = {r["urn"]: r for r in (saved or {}).get("resources", []) if is_cloud_resource(r["type"])}
    result = StackChanges()
    kept: set[tuple[str, str]] = set()
    for resource in resources:
        if not is_cloud_resource(resource.type):
            continue
        kept.add((resource.type, resource.id))
        before = previous.get(resource.urn)
        if before is None:
            action: Action = "create"
        elif before["id"] != resource.id or before["inputs"] != resource.inputs:
            action = "update"
        else:
            action = "same"
        result.changes.append(ResourceChange(action, resource.type, resource.name, resource.id))
    current_urns = {r.urn: r.id for r in resources}
    for resource in reversed(list(previous.values())):
        replaced = resource["urn"] in current_urns and current_urns[resource["urn"]] != resource["id"]
        gone = resource["urn"] not in current_urns
        # A configuration resource shares its parent's id (a bucket name), so only an id nobody uses now goes.
        if (gone or replaced) and (resource["type"], resource["id"]) not in kept:
            result.stale.append(resource)
            result.changes.append(ResourceChange("delete", resource["type"], resource["name"], resource["id"]))
    return result


def provider_regions(resources: list[dict[str, Any]]) -> dict[str, str]:
    """Provider reference (`urn::id`) -> region, to delete each resource where it was created."""
    regions: dict[str, str] = {}
    for resource in resources:
        if resource["type"].startswith("pulumi:providers:") and resource["inputs"].get("region"):
            regions[f"{resource['urn']}::{resource['id']}"] = str(resource["inputs"]["region"])
    return regions
