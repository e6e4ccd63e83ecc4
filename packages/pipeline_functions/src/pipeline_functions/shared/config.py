"""Reading the function's environment: every value is checked where it enters, with a message naming the variable."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from pipeline_functions.exceptions import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Mapping

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def require_str(name: str, environ: Mapping[str, str] | None = None) -> str:
    """Return a non-empty environment variable or raise naming it."""
    value = _environ(environ).get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set; expected a non-empty string")
    return value


def optional_str(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    value = _environ(environ).get(name, "").strip()
    return value or None


def read_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    raw = _environ(environ).get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigurationError(f"environment variable {name}={raw!r} is not a boolean; expected 'true' or 'false'")


def read_int(name: str, default: int, environ: Mapping[str, str] | None = None, *, minimum: int = 0) -> int:
    raw = _environ(environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(float(raw))  # the infrastructure may render integers as "30.0"
    except ValueError as exc:
        raise ConfigurationError(f"environment variable {name}={raw!r} is not an integer") from exc
    if value < minimum:
        raise ConfigurationError(f"environment variable {name}={value} is below the minimum {minimum}")
    return value


def read_json(name: str, default: Any, environ: Mapping[str, str] | None = None) -> Any:
    raw = _environ(environ).get(name, "").strip()
    if not raw:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"environment variable {name} is not valid JSON: {exc}") from exc


def read_prefixes(name: str, default: tuple[str, ...], environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    value = read_json(name, list(default), environ)
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise ConfigurationError(f"environment variable {name} must be a JSON list of non-empty strings, got {value!r}")
    return tuple(value)
