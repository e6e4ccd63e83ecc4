"""Preview on the local target: run the program without touching the emulator.

A resource the stack already has keeps its saved id and outputs (what an upsert would return), so later inputs
compare equal when nothing changed; a new one gets realistic ids from the offline render backend. The caller
compares the recorded inputs with the saved ones to say what would be created, updated or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.engine.render_backend import RenderBackend
from pipeline_infra_tools.exceptions import UnsupportedResourceError
from pipeline_infra_tools.sandbox.replacement import forces_replacement
from pipeline_infra_tools.sandbox.resources import HANDLERS
from pipeline_infra_tools.sandbox.unchanged import SAVED_STACK_OPTION, load_saved_resources

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest


@dataclass
class PreviewBackend:
    account_id: str
    region: str
    saved: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> PreviewBackend:
        saved = load_saved_resources(options.get(SAVED_STACK_OPTION))
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
        # A changed name (or other identity) makes a new resource, with the new id the deploy would get.
        if known is not None and not forces_replacement(request.type, known["inputs"], request.inputs):
            return str(known["id"]), {**known["outputs"], **request.inputs}
        return RenderBackend(self.account_id, request.region or self.region).create(request)
