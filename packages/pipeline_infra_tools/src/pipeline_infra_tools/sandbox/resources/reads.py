"""Every managed resource read back from the emulator, as a provider's Read does for `pulumi refresh`.

    owned = owned_children(every_record)                 # the children the stacks record, across stacks
    result = read_resource(record, ctx, owned)           # ReadResult(inputs | None, extras, unread)
    changes = differences(recorded_state(record), result.inputs)   # [Difference(path, recorded, live)]

`record` is one resource of a saved deploy record (`type`, `name`, `id`, `inputs`, `outputs`). The read comes
back in the shape and key set of `recorded_state(record)`: the recorded inputs, plus AWS's value for the few
inputs a type declares a default for (a rule's `state`, a queue's visibility timeout...), plus `tagsAll` where
the record has it (tags come from the provider's default tags, so they are an output, not an input). Both sides
pass through the same normaliser (`documents.normalise_values`): policies and other JSON text parsed, policies in
one spelling per meaning, integral floats as ints, set-like lists sorted. What the emulator cannot report is
listed per module (`UNREADABLE`) with the reason; its recorded value stands in and is named in `unread`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline_infra_tools.exceptions import UnsupportedResourceError
from pipeline_infra_tools.sandbox.exceptions import EmulatorRequestError
from pipeline_infra_tools.sandbox.resources import (
    cloudwatch,
    dynamodb,
    events,
    functions_reads,
    iam,
    kms,
    messaging,
    network_reads,
    pipes,
    s3_reads,
)
from pipeline_infra_tools.sandbox.resources.documents import Difference, differences, normalise_values
from pipeline_infra_tools.sandbox.resources.reading import Extra, Owned, ReadSpec

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pipeline_infra_tools.sandbox.resources.base import ResourceContext

# Error codes of a request about a resource that no longer exists, across the services that own children.
GONE = frozenset({"NoSuchEntity", "ResourceNotFoundException", "NotFound", "InvalidGroup.NotFound"})

READERS: Mapping[str, ReadSpec] = {
    **s3_reads.READERS,
    **dynamodb.READERS,
    **messaging.READERS,
    **iam.READERS,
    **events.READERS,
    **functions_reads.READERS,
    **pipes.READERS,
    **network_reads.READERS,
    **cloudwatch.READERS,
    **kms.READERS,
}


@dataclass(frozen=True)
class ReadResult:
    """A resource as the cloud holds it now: `inputs` in the recorded state's shape (None: it is gone), what is
    attached to it that no stack records (`extras`), and the input keys that could not be read (`unread`)."""

    inputs: dict[str, Any] | None
    extras: tuple[Extra, ...] = field(default=())
    unread: tuple[str, ...] = field(default=())

    @property
    def gone(self) -> bool:
        return self.inputs is None

    def to_json(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs,
            "extras": [extra.to_json() for extra in self.extras],
            "unread": list(self.unread),
        }


def reader(type_: str) -> ReadSpec:
    spec = READERS.get(type_)
    if spec is None:
        raise UnsupportedResourceError(
            f"resource type {type_} cannot be read back by the local target; add a ReadSpec to READERS in "
            f"pipeline_infra_tools/sandbox/resources/. Readable types: {', '.join(sorted(READERS))}"
        )
    return spec


def expected_state(type_: str, inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> dict[str, Any]:
    """What a read of this resource should give when nothing changed: the inputs over the type's defaults, with
    `tagsAll` from the outputs where there is one, normalised. Works for a program's inputs as for a record's."""
    spec = reader(type_)
    values = {**spec.defaults(inputs), **inputs}
    if outputs.get("tagsAll") is not None:
        values["tagsAll"] = outputs["tagsAll"]
    return normalise_values(values, spec.documents, spec.sets)


def recorded_state(record: Mapping[str, Any]) -> dict[str, Any]:
    return expected_state(str(record["type"]), record.get("inputs") or {}, record.get("outputs") or {})


def owned_children(records: Iterable[Mapping[str, Any]]) -> Owned:
    """The children (role policies, rule targets, subscriptions, permissions) that these records hold. Pass every
    stack's record: a child may live in another stack than its owner."""
    keys = set()
    for record in records:
        spec = READERS.get(str(record["type"]))
        if spec is not None and spec.owns is not None:
            keys.add(spec.owns(str(record["id"]), record.get("inputs") or {}, record.get("outputs") or {}))
    return Owned(frozenset(keys))


def attached_extras(record: Mapping[str, Any], ctx: ResourceContext, owned: Owned) -> list[Extra]:
    """What hangs on this managed resource in the cloud that `owned` does not hold (no read of the resource itself);
    [] for a type that owns no children, and for a resource that is gone (its read reports that)."""
    type_, name, id_ = str(record["type"]), str(record["name"]), str(record["id"])
    spec = READERS.get(type_)
    if spec is None or spec.extras is None:
        return []
    inputs, outputs = dict(record.get("inputs") or {}), dict(record.get("outputs") or {})
    try:
        extras = spec.extras(id_, inputs, outputs, ctx, owned)
    except (ClientError, BotoCoreError) as err:
        if isinstance(err, ClientError) and err.response.get("Error", {}).get("Code") in GONE:
            return []
        raise EmulatorRequestError(
            f"{type_} {name!r} ({id_}): the cloud refused to list what hangs on it: {err}"
        ) from err
    return [replace(extra, owner=name) for extra in extras]


def read_resource(record: Mapping[str, Any], ctx: ResourceContext, owned: Owned) -> ReadResult:
    """The resource's current state in the emulator, in the shape of `recorded_state(record)`."""
    type_, name, id_ = str(record["type"]), str(record["name"]), str(record["id"])
    spec = reader(type_)
    inputs, outputs = dict(record.get("inputs") or {}), dict(record.get("outputs") or {})
    expected = expected_state(type_, inputs, outputs)
    try:
        live = spec.read(id_, inputs, outputs, ctx)
        if live is None:
            return ReadResult(None)
        extras = spec.extras(id_, inputs, outputs, ctx, owned) if spec.extras is not None else []
    except (ClientError, BotoCoreError) as err:
        raise EmulatorRequestError(f"{type_} {name!r} ({id_}): the emulator refused to read it: {err}") from err
    readable = {key: live.get(key) for key in expected if key not in spec.unreadable}
    read = normalise_values(readable, spec.documents, spec.sets)
    shaped = {key: expected[key] if key in spec.unreadable else read[key] for key in expected}
    unread = tuple(key for key in expected if key in spec.unreadable)
    return ReadResult(shaped, tuple(replace(extra, owner=name) for extra in extras), unread)


def read_differences(record: Mapping[str, Any], result: ReadResult) -> list[Difference]:
    """Each property path where the cloud differs from the record; a gone resource is one difference at ""."""
    recorded = recorded_state(record)
    if result.inputs is None:
        return [Difference("", recorded, None)]
    return differences(recorded, result.inputs)


def unreadable_properties() -> dict[str, dict[str, str]]:
    """Per type, the inputs the emulator cannot report and why (the recorded value stands in for them)."""
    return {type_: dict(spec.unreadable) for type_, spec in sorted(READERS.items()) if spec.unreadable}


__all__ = [
    "READERS",
    "Difference",
    "Extra",
    "Owned",
    "ReadResult",
    "attached_extras",
    "differences",
    "expected_state",
    "owned_children",
    "read_differences",
    "read_resource",
    "reader",
    "recorded_state",
    "unreadable_properties",
]
