"""Rewriting prod configuration for a target environment: identifier replacement, then the target's overlay.

YAML is imported lazily: only objects that need it pay for the import.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pipeline_functions import constants as c
from pipeline_functions.exceptions import RewriteError, UnparseableDocumentError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")
TEXT_SUFFIXES = (".ini", ".properties", ".env", ".toml", ".txt", ".cfg", ".conf")


@dataclass(frozen=True)
class RewriteLimits:
    """How the replicator treats a document by size, and where a verbatim copy is allowed.

    The replicator writes by these, and the drift comparison reads prod back by the same ones; both functions
    read them from their environment with ``pipeline_functions.replicator.settings.rewrite_limits``.
    """

    max_bytes: int = c.DEFAULT_REWRITE_MAX_BYTES  # larger documents are refused, never copied unrewritten
    in_memory_bytes: int = c.DEFAULT_REWRITE_IN_MEMORY_BYTES  # parsed whole up to this size, streamed above
    verbatim_prefixes: tuple[str, ...] = ()  # unrewritable documents here are copied byte for byte, marked

    def verbatim_prefix(self, key: str) -> str | None:
        return next((prefix for prefix in self.verbatim_prefixes if key.startswith(prefix)), None)


DEFAULT_LIMITS = RewriteLimits()


def document_format(key: str) -> str | None:
    """``"json"``, ``"yaml"`` or None (copied byte for byte) from the object key's suffix."""
    lowered = key.lower()
    if lowered.endswith(JSON_SUFFIXES):
        return "json"
    if lowered.endswith(YAML_SUFFIXES):
        return "yaml"
    return None


def content_format(key: str) -> str | None:
    """``"json"``, ``"yaml"``, ``"text"`` or None (binary: copied byte for byte) from the object key's suffix.

    A dotfile such as ``.env`` (or ``config/.env``) counts by its name, which is all suffix.
    """
    fmt = document_format(key)
    if fmt is not None:
        return fmt
    return "text" if key.lower().endswith(TEXT_SUFFIXES) else None


def deep_merge(base: Any, overlay: Mapping[str, Any]) -> Any:
    """Return ``base`` with ``overlay`` merged in: nested mappings merge, anything else is replaced."""
    if not isinstance(base, dict):
        return base
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@dataclass(frozen=True)
class Rewriter:
    """Applies ordered ``(source, target)`` string replacements to every string (and mapping key) of a value."""

    replacements: Sequence[tuple[str, str]]
    overlay: Mapping[str, Any]

    def text(self, value: str) -> str:
        for source, target in self.replacements:
            value = value.replace(source, target)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        if isinstance(value, set | frozenset):
            return {self.value(item) for item in value}
        return value

    def leftovers(self, value: Any) -> list[str]:
        """Source identifiers still present in ``value`` (a replica must never name a prod resource)."""
        found: set[str] = set()
        sources = [source for source, _ in self.replacements]

        def walk(node: Any) -> None:
            if isinstance(node, str):
                found.update(source for source in sources if source in node)
            elif isinstance(node, dict):
                for key, item in node.items():
                    walk(key)
                    walk(item)
            elif isinstance(node, list | tuple | set | frozenset):
                for item in node:
                    walk(item)

        walk(value)
        return sorted(found)

    def checked(self, value: Any, what: str) -> Any:
        leftovers = self.leftovers(value)
        if leftovers:
            raise RewriteError(f"{what} still names source identifiers {leftovers} after rewriting")
        return value

    def document(self, parsed: Any) -> Any:
        """Rewrite a parsed JSON/YAML document, then deep-merge the overlay into it (objects only)."""
        rewritten = self.value(parsed)
        return deep_merge(rewritten, self.overlay) if self.overlay else rewritten

    def item(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """Rewrite a DynamoDB item (python values); the overlay touches only attributes the item already has."""
        rewritten: dict[str, Any] = self.value(dict(item))
        for name, patch in self.overlay.items():
            if name not in rewritten:
                continue
            current = rewritten[name]
            if isinstance(patch, dict) and isinstance(current, dict):
                rewritten[name] = deep_merge(current, patch)
            else:
                rewritten[name] = _to_dynamodb_value(copy.deepcopy(patch))
        return rewritten


def _to_dynamodb_value(value: Any) -> Any:
    """Floats are not accepted by boto3's serializer; overlays come from JSON, so convert them."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamodb_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamodb_value(v) for v in value]
    return value


def parse_document(body: bytes, fmt: str) -> Any:
    """Parse JSON or YAML bytes; raises UnparseableDocumentError with the parser's reason."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnparseableDocumentError(f"not UTF-8 text: {exc}") from exc
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UnparseableDocumentError(f"invalid JSON: {exc}") from exc
    import yaml  # lazy: most objects are JSON, and the import costs cold-start time

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UnparseableDocumentError(f"invalid YAML: {exc}") from exc


def dump_document(document: Any, fmt: str) -> bytes:
    if fmt == "json":
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    import yaml

    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode("utf-8")
