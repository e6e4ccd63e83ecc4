"""Pure helpers that make a recorded input and a value read from the cloud comparable, and compare them.

The engine records inputs as the program gave them (policies and patterns as JSON text, numbers that may arrive
as floats); AWS gives them back reformatted (IAM returns documents parsed, SQS returns numbers as strings, list
order of set-like inputs is its own). Both sides go through `normalise_values`, so what still differs is a
change, and `differences` names each one by its property path (`rules[1].expiration.days`), as
`pulumi preview --diff` does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping

# "policy": an IAM policy document (identity, trust or resource policy), compared by meaning.
# "json": any other JSON text (event patterns, filter policies, redrive policies, a target's constant input).
DocumentKind = Literal["policy", "json"]

# Statement fields IAM treats as sets of strings, where "x" means ["x"] and order carries no meaning.
_SET_FIELDS = ("Action", "NotAction", "Resource", "NotResource")
_PRINCIPAL_FIELDS = ("Principal", "NotPrincipal")


@dataclass(frozen=True)
class Difference:
    """One property that differs: its path in the inputs, the recorded value and the live one (None: absent)."""

    path: str
    recorded: Any
    live: Any

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "recorded": self.recorded, "live": self.live}


def _string_set(value: Any) -> Any:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return sorted(set(value))
    return value


def _canonical_statement(statement: Any) -> Any:
    if not isinstance(statement, dict):
        return statement
    result = dict(statement)
    for key in _SET_FIELDS:
        if key in result:
            result[key] = _string_set(result[key])
    for key in _PRINCIPAL_FIELDS:
        if isinstance(result.get(key), dict):
            result[key] = {kind: _string_set(ids) for kind, ids in result[key].items()}
    condition = result.get("Condition")
    if isinstance(condition, dict):
        result["Condition"] = {
            operator: {key: _string_set(values) for key, values in block.items()} if isinstance(block, dict) else block
            for operator, block in condition.items()
        }
    return result


def canonical_policy(document: Any) -> Any:
    """An IAM policy in one spelling per meaning: one statement is a list of one, and action, resource,
    principal and condition values are sorted lists (AWS accepts "x" and ["x"] alike and keeps no order in them).
    Statement order and everything else is kept: a reordered statement list is still shown, as AWS stores it."""
    if not isinstance(document, dict):
        return document
    result = dict(document)
    statements = result.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if isinstance(statements, list):
        result["Statement"] = [_canonical_statement(statement) for statement in statements]
    return result


def parse_document(value: Any, kind: DocumentKind) -> Any:
    """JSON text parsed (a value that is not JSON is kept as it is, so it is still compared); a policy made
    canonical. A document that is already parsed (IAM returns them so) is taken as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return canonical_policy(value) if kind == "policy" else value


def plain_numbers(value: Any) -> Any:
    """Integral floats as ints, everywhere in a value: the mock runtime hands numbers over as floats (30.0)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: plain_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_numbers(item) for item in value]
    return value


def _sort_key(field: str, item: Any) -> str:
    chosen = item.get(field) if field and isinstance(item, dict) else item
    return json.dumps(chosen, sort_keys=True, default=str)


def normalise_values(
    values: Mapping[str, Any], documents: Mapping[str, DocumentKind], sets: Mapping[str, str]
) -> dict[str, Any]:
    """`values` (recorded inputs or a read) made comparable: numbers plain, `documents` (input key -> kind)
    parsed, and the lists in `sets` (input key -> the field that identifies an element, "" for scalars) sorted,
    since AWS keeps no order in them."""
    result = plain_numbers(dict(values))
    for key, kind in documents.items():
        if result.get(key) is not None:
            result[key] = parse_document(result[key], kind)
    for key, field in sets.items():
        if isinstance(result.get(key), list):
            result[key] = sorted(result[key], key=partial(_sort_key, field))
    return dict(result)


def differences(recorded: Any, live: Any, path: str = "") -> list[Difference]:
    """Every path where `live` differs from `recorded`. Mappings are compared key by key and lists of equal
    length element by element; anything else (or lists of different lengths) is one difference at its path."""
    if isinstance(recorded, dict) and isinstance(live, dict):
        found: list[Difference] = []
        for key in sorted(set(recorded) | set(live), key=str):
            child = f"{path}.{key}" if path else str(key)
            found += differences(recorded.get(key), live.get(key), child)
        return found
    if isinstance(recorded, list) and isinstance(live, list) and len(recorded) == len(live):
        found = []
        for index, (old, new) in enumerate(zip(recorded, live, strict=True)):
            found += differences(old, new, f"{path}[{index}]")
        return found
    if recorded == live and type(recorded) is type(live):
        return []
    return [Difference(path, recorded, live)]


__all__ = [
    "Difference",
    "DocumentKind",
    "canonical_policy",
    "differences",
    "normalise_values",
    "parse_document",
    "plain_numbers",
]
