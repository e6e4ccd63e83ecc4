"""Every layer of every environment rendered once per session under the Pulumi mock runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra.settings import Settings, load_settings
from pipeline_infra_tools.programs.render import render_stacks

if TYPE_CHECKING:
    from pipeline_infra_tools.engine import RecordedResource, StackResult
    from pipeline_infra_tools.workspace import Workspace

ENVIRONMENTS = ("dev", "staging", "prod")


class RenderedStack:
    """Look-ups over one rendered stack; failures name the URN."""

    def __init__(self, result: StackResult) -> None:
        self.result = result
        self.outputs = result.outputs
        self.resources = result.resources

    def named(self, name: str) -> RecordedResource:
        matches = [r for r in self.resources if r.name == name]
        assert len(matches) == 1, f"expected one resource named {name!r}, found {[r.urn for r in matches]}"
        return matches[0]

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def index(self, name: str) -> int:
        return [r.name for r in self.resources].index(name)


@pytest.fixture(scope="session")
def settings(workspace: Workspace) -> Settings:
    return load_settings(workspace.config_dir)


@pytest.fixture(scope="session")
def rendered(workspace: Workspace, settings: Settings) -> dict[tuple[str, str], RenderedStack]:
    wanted = [(layer, env) for env in ENVIRONMENTS for layer in workspace.layers_for(env)]
    return {key: RenderedStack(result) for key, result in render_stacks(workspace, wanted, settings).items()}


def stack(rendered: dict[tuple[str, str], Any], layer: str, env: str) -> RenderedStack:
    assert (layer, env) in rendered, f"{layer}/{env} was not rendered; rendered: {sorted(rendered)}"
    result: RenderedStack = rendered[(layer, env)]
    return result
