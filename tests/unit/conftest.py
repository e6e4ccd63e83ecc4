"""Every layer of every environment rendered once per session under the Pulumi mock runtime."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra.settings import Settings, load_settings
from pipeline_infra_tools.programs.render import render_stacks
from pipeline_infra_tools.workspace import Workspace
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pipeline_infra_tools.engine import RecordedResource, StackResult

ENVIRONMENTS = ("dev", "staging", "prod")
# The shipped profile whose environments run their functions in the company's VPCs.
VPC_PROFILE = ROOT / "examples" / "vpc" / "shared_config"


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


@pytest.fixture(scope="session")
def vpc_workspace(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The repository's projects with the VPC profile as their shared_config/."""
    root = tmp_path_factory.mktemp("vpc-profile")
    for part in ("projects", "packages/pipeline_functions", "dist"):
        shutil.copytree(workspace.root / part, root / part, ignore=shutil.ignore_patterns("__pycache__", ".pipeline"))
    shutil.copytree(VPC_PROFILE, root / "shared_config")
    return Workspace(root)


@pytest.fixture(scope="session")
def vpc_settings(vpc_workspace: Workspace) -> Settings:
    return load_settings(vpc_workspace.config_dir)


@pytest.fixture(scope="session")
def vpc_rendered(vpc_workspace: Workspace, vpc_settings: Settings) -> dict[tuple[str, str], RenderedStack]:
    """Every layer of every environment of the VPC profile, rendered."""
    wanted = [(layer, env) for env in ENVIRONMENTS for layer in vpc_workspace.layers_for(env)]
    rendered = render_stacks(vpc_workspace, wanted, vpc_settings)
    return {key: RenderedStack(result) for key, result in rendered.items()}


def stack(rendered: dict[tuple[str, str], Any], layer: str, env: str) -> RenderedStack:
    assert (layer, env) in rendered, f"{layer}/{env} was not rendered; rendered: {sorted(rendered)}"
    result: RenderedStack = rendered[(layer, env)]
    return result
