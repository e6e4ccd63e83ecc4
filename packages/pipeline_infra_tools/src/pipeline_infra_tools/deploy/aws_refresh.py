"""The engine's refresh, read from its event stream into the target-independent `RefreshResult`.

A refresh step is announced with op `refresh`; when its read finishes the engine reports the step again with the
op it amounts to: `same` (cloud matches the record), `update` (the cloud differs, property by property in the step's
detailed diff) or `delete` (the resource is gone from the cloud). Pure functions over the SDK's event objects.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.cloud_state import PropertyChange, RefreshedResource, RefreshResult

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pulumi.automation import EngineEvent, StepEventMetadata, StepEventStateMetadata

    from pipeline_infra_tools.cloud_state import ResourceStatus

# The op a finished refresh step reports, to the status its row carries.
_STATUS_OF_OP: dict[str, ResourceStatus] = {"update": "changed", "delete": "gone"}
_READ_OPS = ("same", "update", "delete")
_PROVIDER_TYPE_PREFIX = "pulumi:providers:"
# One segment of a property path: `name` or `.name`, `[0]`, or `["key.with.dots"]`.
_PATH_SEGMENT = re.compile(r'\.?([^.\[\]"]+)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


class _Missing:
    """No value at a path (distinct from a recorded null)."""


_MISSING = _Missing()


def op_name(meta: StepEventMetadata) -> str:
    # The JSON parser gives an OpType; hand-built metadata may carry the plain string.
    return str(getattr(meta.op, "value", meta.op))


def logical_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def step_of(event: EngineEvent) -> StepEventMetadata | None:
    """The step an event reports, if it reports one that ended (or is announced) without failing."""
    step = event.res_outputs_event or event.resource_pre_event
    return step.metadata if step is not None else None


def changed_step(event: EngineEvent) -> StepEventMetadata | None:
    """The step of an event that says a resource differs from its record or is gone; None for anything else."""
    meta = step_of(event)
    return meta if meta is not None and op_name(meta) in _STATUS_OF_OP else None


def parse_path(path: str) -> list[str | int] | None:
    """`environment.variables.FOO` → ["environment", "variables", "FOO"]; None when the path does not parse."""
    segments: list[str | int] = []
    position = 0
    while position < len(path):
        match = _PATH_SEGMENT.match(path, position)
        if match is None or match.end() == position:
            return None
        name, index, quoted = match.groups()
        if index is not None:
            segments.append(int(index))
        elif quoted is not None:
            segments.append(re.sub(r"\\(.)", r"\1", quoted))
        else:
            segments.append(name)
        position = match.end()
    return segments


def value_at(values: Mapping[str, Any] | None, path: str) -> Any:
    """The value at a property path, or _MISSING."""
    segments = parse_path(path)
    current: Any = values
    if current is None or segments is None:
        return _MISSING
    for segment in segments:
        found_index = isinstance(segment, int) and isinstance(current, list) and 0 <= segment < len(current)
        found_key = isinstance(segment, str) and isinstance(current, dict) and segment in current
        if not (found_index or found_key):
            return _MISSING
        current = current[segment]
    return current


def _side_value(state: StepEventStateMetadata | None, path: str) -> Any:
    # A diff path names an input; outputs-only properties (tagsAll, arn) are looked up in the outputs.
    if state is None:
        return _MISSING
    found = value_at(state.inputs, path)
    return found if found is not _MISSING else value_at(state.outputs, path)


def property_changes(meta: StepEventMetadata) -> tuple[PropertyChange, ...]:
    """One change per path of the step's detailed diff, recorded side from `old`, live side from `new`."""
    changes = []
    for path in sorted(meta.detailed_diff or {}):
        recorded, live = _side_value(meta.old, path), _side_value(meta.new, path)
        absent = tuple(side for side, value in (("recorded", recorded), ("live", live)) if value is _MISSING)
        changes.append(
            PropertyChange(
                path=path,
                recorded=None if recorded is _MISSING else recorded,
                live=None if live is _MISSING else live,
                absent=absent,
            )
        )
    return tuple(changes)


def refreshed_resource(layer: str, env: str, meta: StepEventMetadata) -> RefreshedResource | None:
    """The row of a changed or gone resource; None for a step that found nothing to report."""
    status = _STATUS_OF_OP.get(op_name(meta))
    if status is None:
        return None
    physical = (meta.new.id if meta.new is not None else "") or (meta.old.id if meta.old is not None else "")
    return RefreshedResource(
        layer=layer,
        env=env,
        urn=meta.urn,
        name=logical_name(meta.urn),
        type=meta.type,
        physical=physical,
        status=status,
        changes=property_changes(meta) if status == "changed" else (),
    )


def _read_from_cloud(meta: StepEventMetadata) -> bool:
    # Components and providers are never read back from the cloud, so they do not count as read.
    state = meta.old or meta.new
    return (
        op_name(meta) in _READ_OPS
        and not meta.type.startswith(_PROVIDER_TYPE_PREFIX)
        and (state is None or state.custom is not False)
    )


def refresh_result(layer: str, env: str, events: Iterable[EngineEvent], *, applied: bool) -> RefreshResult:
    """The stack's refresh from the engine's events, in any order; a resource reported twice keeps its last step."""
    finished: dict[str, StepEventMetadata] = {}
    for event in sorted(events, key=lambda item: item.sequence):
        meta = step_of(event)
        if meta is not None and _read_from_cloud(meta):
            finished[meta.urn] = meta
    rows = (refreshed_resource(layer, env, meta) for meta in finished.values())
    resources = sorted((row for row in rows if row is not None), key=lambda row: (row.name, row.urn))
    return RefreshResult(layer=layer, env=env, read=len(finished), resources=tuple(resources), applied=applied)


def progress_line(meta: StepEventMetadata) -> str:
    """What the operator sees as a changed or gone resource is found."""
    name = logical_name(meta.urn)
    if op_name(meta) == "delete":
        return f"gone {meta.type} {name}: deleted outside the stack"
    paths = ", ".join(sorted(meta.detailed_diff or {})) or ", ".join(meta.diffs or ()) or "properties"
    return f"changed {meta.type} {name}: {paths}"
