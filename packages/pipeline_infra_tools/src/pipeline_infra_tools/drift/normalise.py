"""Making two environments' rendered resources comparable: environment tokens become placeholders.

Physical names, ARNs, URLs and tags carry the environment's name, suffix, region and account id; each becomes
`{env}`, `{suffix}`, `{region}`, `{account}`. The ids of the company network an environment runs in (its VPC,
subnets, route tables, extra security groups) become `{vpc}`, `{subnet-1}`..., so two environments in VPCs of
the same shape compare equal while a VPC in one and not the other is a structural difference. Strings holding
JSON (IAM policies, event patterns, filter policies) are decoded first, so a difference is reported at the
statement or key that differs rather than as one long string. Lists of mappings that carry an identifying key
(`Sid`, `id`, `name`, ...) are keyed by it, so inserting a statement does not shift every later one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# Keys that identify an element of a list of mappings, in order of preference.
IDENTITY_KEYS = ("Sid", "id", "Id", "name", "Name", "attributeName", "key", "Key", "topic", "prefix")


@dataclass(frozen=True)
class EnvTokens:
    """The identifiers that make an environment's names its own."""

    name: str
    suffixes: tuple[str, ...]
    region: str
    account_id: str
    network_ids: tuple[tuple[str, str], ...] = ()
    """(id, placeholder) of each id of the environment's network."""

    def replacements(self) -> list[tuple[re.Pattern[str], str]]:
        # Account ids and regions are unambiguous; names and suffixes only count as whole words, so `dev`
        # never rewrites `device` and the suffix never rewrites part of a longer identifier.
        pairs = [(re.escape(self.account_id), "{account}"), (_word(self.region), "{region}")]
        pairs += [(_word(suffix), "{suffix}") for suffix in sorted(set(self.suffixes), key=len, reverse=True)]
        pairs.append((_word(self.name), "{env}"))
        pairs += [(_word(id_), placeholder) for id_, placeholder in self.network_ids]
        return [(re.compile(pattern), placeholder) for pattern, placeholder in pairs]


def _word(token: str) -> str:
    return rf"(?<![A-Za-z0-9]){re.escape(token)}(?![A-Za-z0-9])"


class Normaliser:
    """Replaces one environment's tokens in every string of a value, decoding embedded JSON on the way."""

    def __init__(self, tokens: EnvTokens | None) -> None:
        self._replacements = tokens.replacements() if tokens else []

    def text(self, value: str) -> str:
        for pattern, placeholder in self._replacements:
            value = pattern.sub(placeholder, value)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            decoded = decode_json(value)
            return self.text(value) if decoded is None else self.value(decoded)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


def decode_json(text: str) -> Any | None:
    """The JSON object or array `text` holds, or None when it is not one."""
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        decoded = json.loads(stripped)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict | list) else None


def _identity(items: list[Any]) -> str | None:
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in IDENTITY_KEYS:
        ids = [item.get(key) for item in items]
        if all(isinstance(i, str | int) and not isinstance(i, bool) for i in ids) and len(set(ids)) == len(ids):
            return key
    return None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{dotted path: leaf}. Lists of scalars are leaves; lists of mappings are walked element by element."""
    if isinstance(value, dict):
        if not value:
            return {prefix: {}} if prefix else {}
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        key = _identity(value)
        flat = {}
        for index, item in enumerate(value):
            label = f"{prefix}[{item[key]}]" if key else f"{prefix}[{index}]"
            flat.update(flatten(item, label))
        return flat
    return {prefix: value} if prefix else {}


def urn_parent(urn: str | None, normaliser: Normaliser) -> str | None:
    """`<type>::<name>` of a parent URN, tokens normalised; None for no parent."""
    if not urn:
        return None
    parts = urn.split("::")
    return f"{parts[-2].split('$')[-1]}::{normaliser.text(parts[-1])}"


def wildcard_note(path: str, reference: Any, value: Any) -> str | None:
    """Flags a policy grant that gains a `*` the baseline does not have (least privilege at risk)."""
    if not any(word in path for word in ("Action", "Resource", "Principal")):
        return None
    added = _wildcards(value) - _wildcards(reference)
    return f"adds wildcard grant {sorted(added)}" if added else None


def _wildcards(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value} if "*" in value else set()
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str) and "*" in item}
    if isinstance(value, dict):
        return {item for v in value.values() for item in _wildcards(v)}
    return set()
