"""What a run changed (or would change) in a stack: compare the new resource graph with the saved one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pipeline_infra_tools.cloud_state import PropertyChange
from pipeline_infra_tools.engine.backend import Placement
from pipeline_infra_tools.sandbox.replacement import forces_replacement
from pipeline_infra_tools.sandbox.resources.documents import differences
from pipeline_infra_tools.sandbox.resources.reads import READERS, expected_state

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pipeline_infra_tools.engine.backend import RecordedResource

Action = Literal["create", "update", "replace", "same", "delete"]
ACTIONS: tuple[Action, ...] = ("create", "update", "replace", "same", "delete")
CLOUD_TYPE_PREFIX = "aws:"
TAGS_ALL = "tagsAll"


def is_cloud_resource(type_: str) -> bool:
    """Resources that exist in the cloud (not components, providers or stack references)."""
    return type_.startswith(CLOUD_TYPE_PREFIX)


@dataclass(frozen=True)
class ResourceChange:
    action: Action
    type: str
    name: str
    id: str
    # For an update or a replacement: each property that changes (recorded => new), and the ones forcing a
    # replacement.
    properties: tuple[PropertyChange, ...] = ()
    replaced_by: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "type": self.type,
            "name": self.name,
            "id": self.id,
            "properties": [change.to_json() for change in self.properties],
            "replaced_by": list(self.replaced_by),
        }


def property_changes(type_: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[PropertyChange, ...]:
    """Each input path that differs, policies and other documents compared by meaning where the type is known."""
    if type_ in READERS:
        before, after = expected_state(type_, before, {}), expected_state(type_, after, {})
    return tuple(
        PropertyChange(
            change.path,
            change.recorded,
            change.live,
            tuple(side for side, value in (("recorded", change.recorded), ("live", change.live)) if value is None),
        )
        for change in differences(dict(before), dict(after))
    )


@dataclass
class StackChanges:
    changes: list[ResourceChange] = field(default_factory=list)
    # Saved resources the new graph no longer has (or has under a new id), in the order to delete them.
    stale: list[dict[str, Any]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {action: sum(1 for c in self.changes if c.action == action) for action in ACTIONS}


def _state(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a deploy sets: the inputs, and the tags the provider's default tags add (an output, `tagsAll`)."""
    tags = (record.get("outputs") or {}).get(TAGS_ALL)
    return {**record["inputs"], TAGS_ALL: tags} if tags is not None else dict(record["inputs"])


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
        elif before["id"] != resource.id or _state(before) != _state(resource.to_json()):
            replaced_by = forces_replacement(resource.type, before["inputs"], resource.inputs)
            if before["id"] != resource.id and not replaced_by:
                replaced_by = ("id",)
            properties = property_changes(resource.type, _state(before), _state(resource.to_json()))
            action = "replace" if replaced_by else "update"
            result.changes.append(
                ResourceChange(action, resource.type, resource.name, resource.id, properties, replaced_by)
            )
            continue
        else:
            action = "same"
        result.changes.append(ResourceChange(action, resource.type, resource.name, resource.id))
    current_urns = {r.urn: r.id for r in resources}
    for saved_resource in deletion_order((saved or {}).get("resources", [])):
        replaced = saved_resource["urn"] in current_urns and current_urns[saved_resource["urn"]] != saved_resource["id"]
        gone = saved_resource["urn"] not in current_urns
        # A configuration resource shares its parent's id (a bucket name), so only an id nobody uses now goes.
        if (gone or replaced) and (saved_resource["type"], saved_resource["id"]) not in kept:
            result.stale.append(saved_resource)
            if gone:  # a replaced resource is listed once, as its replacement
                result.changes.append(
                    ResourceChange("delete", saved_resource["type"], saved_resource["name"], saved_resource["id"])
                )
    return result


def provider_placements(resources: list[dict[str, Any]]) -> dict[str, Placement]:
    """Provider reference (`urn::id`) -> where it puts resources and with whose credentials, to read or delete
    each resource where it was created."""
    return {
        f"{resource['urn']}::{resource['id']}": Placement.of_provider(resource["inputs"])
        for resource in resources
        if resource["type"].startswith("pulumi:providers:")
    }


def deletion_order(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The saved stack's cloud resources, each after every resource that depends on it.

    A dependency on a component stands for everything under it. Among resources free to go, the later one in
    the record goes first, so a record without dependencies (older saves) is deleted in reverse order.
    """
    by_urn = {r["urn"]: r for r in resources}
    children: dict[str, list[str]] = {}
    for resource in resources:
        if resource.get("parent"):
            children.setdefault(resource["parent"], []).append(resource["urn"])

    def cloud_urns(urn: str) -> set[str]:
        found: set[str] = set()
        pending = [urn]
        while pending:
            current = pending.pop()
            record = by_urn.get(current)
            if record is not None and is_cloud_resource(record["type"]):
                found.add(current)
            else:
                pending.extend(children.get(current, []))
        return found

    cloud = [r for r in resources if is_cloud_resource(r["type"])]
    position = {r["urn"]: index for index, r in enumerate(cloud)}
    dependents: dict[str, set[str]] = {r["urn"]: set() for r in cloud}
    for resource in cloud:
        for dependency in resource.get("dependencies", []):
            for target in cloud_urns(dependency) - {resource["urn"]}:
                dependents[target].add(resource["urn"])
    ordered: list[dict[str, Any]] = []
    remaining = dict(dependents)
    while remaining:
        free = [urn for urn, waiting in remaining.items() if not waiting & remaining.keys()]
        # A cycle cannot come from a program; if a record has one anyway, reverse order breaks it.
        chosen = max(free or remaining, key=position.__getitem__)
        ordered.append(by_urn[chosen])
        del remaining[chosen]
    return ordered
