"""Run Pulumi programs under the SDK's mock runtime and record the resource graph they build."""

from __future__ import annotations

from pipeline_infra_tools.engine.backend import RecordedResource, ResourceBackend, ResourceRequest
from pipeline_infra_tools.engine.harness import PulumiProject, StackOutputsStore, StackResult, run_program
from pipeline_infra_tools.engine.render_backend import RenderBackend

__all__ = [
    "PulumiProject",
    "RecordedResource",
    "RenderBackend",
    "ResourceBackend",
    "ResourceRequest",
    "StackOutputsStore",
    "StackResult",
    "run_program",
]
