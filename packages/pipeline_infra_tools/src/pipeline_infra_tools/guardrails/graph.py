"""Resources of a rendered graph (`pipeline-infra render --format json`), as the rules see them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.guardrails.model import Resource

if TYPE_CHECKING:
    from collections.abc import Mapping


def stack_resources(stack: Mapping[str, Any]) -> list[Resource]:
    """One rendered stack's resources, each with its provider's inputs and its place in registration order."""
    records: list[Mapping[str, Any]] = list(stack.get("resources") or [])
    # A resource names its provider as `<provider urn>::<provider id>`, the reference the engine uses.
    providers = {f"{r['urn']}::{r['id']}": r.get("inputs") or {} for r in records if _is_provider(r)}
    return [
        Resource(
            urn=str(record["urn"]),
            type=str(record["type"]),
            name=str(record["name"]),
            inputs=record.get("inputs") or {},
            provider_inputs=providers.get(record.get("provider") or ""),
            # A rendering records neither options nor dependencies today; read them should it ever do.
            protect=record.get("protect"),
            dependencies=frozenset(record["dependencies"]) if record.get("dependencies") is not None else None,
            position=position,
        )
        for position, record in enumerate(records)
    ]


def document_resources(document: Mapping[str, Any]) -> list[Resource]:
    """Every resource of every stack of a rendered environment document."""
    return [resource for stack in document.get("stacks") or [] for resource in stack_resources(stack)]


def _is_provider(record: Mapping[str, Any]) -> bool:
    return str(record.get("type", "")).startswith("pulumi:providers:")
