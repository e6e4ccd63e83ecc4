"""Whether a resource the program registers is exactly what the stack's record holds, so a deploy leaves it be.

This is the engine's diff: the local target calls the cloud only for what changed. The record is the one a
deploy starts from, refreshed from the cloud first unless `--no-refresh`, so a property changed out of band
shows here as a difference and is put back. A function's code is compared by its hash, since a rebuilt archive
may keep its path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.resources.functions import code_sha256

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pipeline_infra_tools.engine.backend import ResourceRequest

SAVED_STACK_OPTION = "saved_stack"
FUNCTION_TYPE = "aws:lambda/function:Function"


def load_saved_resources(path: str | None) -> dict[str, dict[str, Any]]:
    """The saved record's resources by URN ({} when there is none: everything is created)."""
    if not path or not Path(path).is_file():
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {resource["urn"]: resource for resource in data.get("resources", [])}


def unchanged(saved: Mapping[str, Any] | None, request: ResourceRequest, tags: Mapping[str, str]) -> bool:
    if saved is None or saved.get("type") != request.type or saved.get("provider") != request.provider:
        return False
    if saved.get("inputs") != request.inputs:
        return False
    outputs = saved.get("outputs") or {}
    if dict(outputs.get("tagsAll") or {}) != dict(tags):
        return False
    return request.type != FUNCTION_TYPE or outputs.get("codeSha256") == code_sha256(request)
