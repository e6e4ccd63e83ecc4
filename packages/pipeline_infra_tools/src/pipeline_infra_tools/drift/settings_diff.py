"""Settings drift: the resolved settings of each environment (base.yaml + <env>.yaml) against the baseline's.

Settings are flattened to dotted paths; mappings are walked key by key and lists are compared whole, since
the order of a list of subscriptions or prefixes is part of its meaning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.drift.approvals import Scope, compare_values
from pipeline_infra_tools.drift.models import Category
from pipeline_infra_tools.workspace import config_label

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.drift.models import Difference


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{dotted path: leaf}; an empty mapping is a leaf of its own so that `{}` and absent differ."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value} if prefix else {}


def settings_repair(env: str) -> str:
    config = config_label()
    return f"edit {config}/{env}.yaml (or approve the path in {config}/approved_differences.yaml)"


def resolved_settings(settings: Settings, env: str) -> dict[str, Any]:
    """An environment's settings as plain data, defaults from base.yaml included."""
    return settings.env(env).model_dump(mode="json")


def compare_settings(settings: Settings, envs: Sequence[str], baseline: str) -> list[Difference]:
    """Every setting that differs from the baseline environment's, approved or drift."""
    values = {env: flatten(resolved_settings(settings, env)) for env in envs}
    scope = Scope(category=Category.SETTINGS, entries=settings.approved.settings, repair=settings_repair)
    return compare_values(scope, envs, baseline, values)


def count_settings(settings: Settings, envs: Sequence[str]) -> int:
    """How many setting values were compared (for the report's summary)."""
    return sum(len(flatten(resolved_settings(settings, env))) for env in envs)
