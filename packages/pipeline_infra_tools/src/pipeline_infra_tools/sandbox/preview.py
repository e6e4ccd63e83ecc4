"""Preview on the local target: run the program without touching the emulator.

A resource the stack already has keeps its saved id and outputs (what an upsert would return), so later inputs
compare equal when nothing changed; a new one gets realistic ids from the offline render backend. The caller
compares the recorded inputs with the saved ones to say what would be created, updated or deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.engine.render_backend import RenderBackend
from pipeline_infra_tools.exceptions import UnsupportedResourceError
from pipeline_infra_tools.sandbox.resources import HANDLERS

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest

SAVED_STACK_OPTION = "saved_stack"


@dataclass
class PreviewBackend:
    account_id: str
    region: str
    saved: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> PreviewBackend:
        saved: dict[str, dict[str, Any]] = {}
        path = options.get(SAVED_STACK_OPTION)
        if path and Path(path).is_file():
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            saved = {resource["urn"]: resource for resource in data.get("resources", [])}
        return cls(account_id=str(options["account_id"]), region=str(options["region"]), saved=saved)

    def invoke(self, token: str, args: dict[str, Any]) -> dict[str, Any]:
        return RenderBackend(self.account_id, self.region).invoke(token, args)

    def create(self, request: ResourceRequest) -> tuple[str, dict[str, Any]]:
        if request.type not in HANDLERS:
            # A preview stops where the deploy would, so the problem shows before anything changes.
            raise UnsupportedResourceError(
                f"resource type {request.type} ({request.name!r}) is not supported by the local target; "
                "add a handler in pipeline_infra/sandbox/resources/ or deploy with --target aws"
            )
        known = self.saved.get(request.urn)
        if known is not None:
            return str(known["id"]), {**known["outputs"], **request.inputs}
        return RenderBackend(self.account_id, request.region or self.region).create(request)
