"""Property changes as people read them, the way `pulumi preview --diff` prints them: `~ memorySize: 512 => 768`."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pipeline_infra_tools.cloud_state import PropertyChange

WIDTH = 100
_TOP_KEY = re.compile(r"^[^.\[]+")


def value_text(value: Any, width: int = WIDTH // 2) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def property_line(change: PropertyChange, replaced_by: Iterable[str] = (), old: str = "recorded") -> str:
    """One line per changed path: `~` changed, `+` added, `-` removed; a path forcing replacement says so."""
    path = change.path or "(resource)"
    if "recorded" in change.absent or (change.recorded is None and change.live is not None):
        line = f"+ {path}: {value_text(change.live)}"
    elif "live" in change.absent or change.live is None:
        line = f"- {path}: {value_text(change.recorded)}"
    else:
        line = f"~ {path}: {value_text(change.recorded)} => {value_text(change.live)}"
    top = _TOP_KEY.match(change.path)
    if top is not None and top.group(0) in set(replaced_by):
        line += " (forces replacement)"
    return line


def property_lines(changes: Iterable[PropertyChange], replaced_by: Iterable[str] = ()) -> tuple[str, ...]:
    replaced = tuple(replaced_by)
    return tuple(property_line(change, replaced) for change in changes)
