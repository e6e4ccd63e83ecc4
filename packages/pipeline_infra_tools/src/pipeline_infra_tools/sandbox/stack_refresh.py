"""`refresh` on the local target: read every resource of a saved stack back from the emulator, say what differs
from the record, and (unless a preview) write the cloud's state into the record, as `pulumi refresh` does.

A resource deleted out of band leaves the record; a changed one keeps its record entry with the cloud's values
for the properties that changed, so the next deploy sees them differ from the code and puts them back. Things
attached to a managed resource that no stack records (an inline policy added by hand) are reported and stay in
the cloud: the code does not know what they are for.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.cloud_state import AttachedResource, PropertyChange, RefreshedResource, RefreshResult
from pipeline_infra_tools.sandbox.changes import is_cloud_resource, provider_placements
from pipeline_infra_tools.sandbox.provider_clients import ProviderClients
from pipeline_infra_tools.sandbox.resources.reads import (
    READERS,
    owned_children,
    read_differences,
    read_resource,
    unreadable_properties,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pipeline_infra_tools.engine.backend import Placement
    from pipeline_infra_tools.sandbox.resources.base import ResourceContext
    from pipeline_infra_tools.sandbox.resources.reading import Owned
    from pipeline_infra_tools.sandbox.resources.reads import ReadResult
    from pipeline_infra_tools.sandbox.state import SandboxState

TAGS_ALL = "tagsAll"
READ_THREADS = 8  # an output (the provider's default tags merged in), read back beside the inputs
_TOP_KEY = re.compile(r"^[^.\[]+")


class CloudReader:
    """Reads saved stacks back from the running emulator with each stack's provider credentials (its deployment
    role, in its account and region), one client set per provider placement, kept for every stack a command
    reads, as the engine's refresh reads through each resource's provider."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.providers = ProviderClients.from_state(state)

    def context(self, placement: Placement | None) -> ResourceContext:
        return self.providers.context(placement)

    def read_stack(self, document: Mapping[str, Any], owned: Owned) -> list[tuple[dict[str, Any], ReadResult]]:
        """Each readable cloud resource of a saved stack document with its read; `owned` is what every stack
        records (see `owned_by`), so what hangs on a resource and is in none of them is reported."""
        resources = list(document.get("resources", []))
        placements = provider_placements(resources)
        readable = [r for r in resources if is_cloud_resource(r["type"]) and r["type"] in READERS]
        contexts = [self.context(placements.get(record.get("provider") or "")) for record in readable]
        # Reads are independent calls that mostly wait on the emulator: side by side, in the record's order.
        with ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="read") as pool:
            results = list(
                pool.map(lambda pair: read_resource(pair[0], pair[1], owned), zip(readable, contexts, strict=True))
            )
        return list(zip(readable, results, strict=True))

    def close(self) -> None:
        self.providers.close()


def owned_by(every_record: Iterable[Mapping[str, Any]]) -> Owned:
    """The children every saved stack records. Pass all layers and environments: a child such as a rule target may
    be recorded in another stack than the resource it hangs on."""
    return owned_children(every_record)


def refreshed_resource(layer: str, env: str, record: Mapping[str, Any], result: ReadResult) -> RefreshedResource | None:
    """What the read found wrong with one resource, or None when it reads back as recorded."""
    attached = tuple(
        AttachedResource(extra.kind, extra.aws_name, str(record["name"]), extra.detail) for extra in result.extras
    )
    base = RefreshedResource(
        layer=layer,
        env=env,
        urn=str(record["urn"]),
        name=str(record["name"]),
        type=str(record["type"]),
        physical=str(record["id"]),
        status="attached",
        attached=attached,
    )
    if result.gone:
        return dataclasses.replace(base, status="gone")
    changes = tuple(
        PropertyChange(
            change.path,
            change.recorded,
            change.live,
            tuple(side for side, value in (("recorded", change.recorded), ("live", change.live)) if value is None),
        )
        for change in read_differences(record, result)
    )
    if changes:
        return dataclasses.replace(base, status="changed", changes=changes)
    return base if attached else None


def apply_reads(
    document: Mapping[str, Any], found: Iterable[RefreshedResource], reads: Mapping[str, ReadResult]
) -> dict[str, Any]:
    """The stack document with the cloud's state: gone resources dropped, changed properties as they were read."""
    refreshed = copy.deepcopy(dict(document))
    by_urn = {resource.urn: resource for resource in found}
    kept = []
    for record in refreshed.get("resources", []):
        resource = by_urn.get(record["urn"])
        if resource is None:
            kept.append(record)
            continue
        if resource.status == "gone":
            continue
        live = reads[record["urn"]].inputs or {}
        for key in {match.group(0) for change in resource.changes if (match := _TOP_KEY.match(change.path))}:
            if key == TAGS_ALL:
                record.setdefault("outputs", {})[TAGS_ALL] = live.get(key)
            else:
                record.setdefault("inputs", {})[key] = live.get(key)
        kept.append(record)
    refreshed["resources"] = kept
    return refreshed


def refresh_document(
    reader: CloudReader, layer: str, env: str, document: Mapping[str, Any], owned: Owned
) -> tuple[RefreshResult, dict[str, Any]]:
    """The refresh of one saved stack and the document the cloud's state gives (the caller decides to save it)."""
    reads = reader.read_stack(document, owned)
    found = [
        resource for record, result in reads if (resource := refreshed_resource(layer, env, record, result)) is not None
    ]
    types = {str(record["type"]) for record, _ in reads}
    unread = {type_: tuple(keys) for type_, keys in unreadable_properties().items() if type_ in types}
    result = RefreshResult(layer=layer, env=env, read=len(reads), resources=tuple(found), unread=unread)
    return result, apply_reads(document, found, {str(record["urn"]): read for record, read in reads})
