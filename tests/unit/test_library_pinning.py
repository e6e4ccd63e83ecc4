"""Each project runs the pipeline-infra version it pins; a library change reaches it only when the pin moves."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

import pytest

from pipeline_infra_tools.artifact import function_artifact_path
from pipeline_infra_tools.exceptions import ProjectError
from pipeline_infra_tools.programs.launcher import run_layer
from pipeline_infra_tools.workspace import Workspace
from tests.conftest import ROOT, build_library_wheel

if TYPE_CHECKING:
    from pathlib import Path


def pin(workspace: Workspace, layer: str, version: str) -> None:
    requirements = workspace.project(layer).directory / "requirements.txt"
    requirements.write_text(f"--find-links ../../dist\npipeline-infra=={version}\n")


def managed_by(workspace: Workspace, layer: str, tmp_path: Path) -> str:
    """The ManagedBy default tag the layer's program gives its provider."""
    artifact = function_artifact_path(ROOT)
    result = run_layer(
        workspace, layer, "dev", "render", {"account_id": "123456789012", "region": "us-east-1"}, tmp_path, artifact
    )
    [provider] = [r for r in result.resources if r.type == "pulumi:providers:aws"]
    return str(json.loads(provider.inputs["defaultTags"])["tags"]["ManagedBy"])


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace whose dist/ holds 0.1.0 (the current code) and a 0.2.0 that tags resources differently."""
    root = tmp_path_factory.mktemp("pinned")
    shutil.copytree(ROOT / "projects", root / "projects")
    shutil.copytree(ROOT / "shared_config", root / "shared_config")
    build_library_wheel(ROOT / "packages" / "pipeline_infra", root / "dist")
    changed = root / "library-0.2.0"
    shutil.copytree(ROOT / "packages" / "pipeline_infra", changed, ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = changed / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.2.0"'))
    context = changed / "src" / "pipeline_infra" / "context.py"
    context.write_text(
        context.read_text().replace('"ManagedBy": "pulumi"', '"ManagedBy": "pulumi/pipeline-infra-0.2.0"')
    )
    build_library_wheel(changed, root / "dist")
    return Workspace(root)


def test_both_versions_are_built(two_versions: Workspace) -> None:
    assert two_versions.built_versions() == ["0.1.0", "0.2.0"]


def test_change_reaches_a_project_only_when_its_pin_changes(two_versions: Workspace, tmp_path: Path) -> None:
    # GIVEN both projects pinned to 0.1.0
    assert two_versions.pinned_version("storage") == "0.1.0"
    assert managed_by(two_versions, "storage", tmp_path) == "pulumi"
    # WHEN only storage moves its pin to 0.2.0
    pin(two_versions, "storage", "0.2.0")
    try:
        # THEN storage runs the new library and notifications still runs the old one
        assert managed_by(two_versions, "storage", tmp_path) == "pulumi/pipeline-infra-0.2.0"
        assert managed_by(two_versions, "notifications", tmp_path) == "pulumi"
    finally:
        pin(two_versions, "storage", "0.1.0")


def test_pin_to_a_version_that_is_not_built_fails_clearly(two_versions: Workspace, tmp_path: Path) -> None:
    pin(two_versions, "notifications", "0.3.0")
    try:
        with pytest.raises(ProjectError) as err:
            managed_by(two_versions, "notifications", tmp_path)
    finally:
        pin(two_versions, "notifications", "0.1.0")
    message = str(err.value)
    assert "pipeline-infra 0.3.0 is pinned but not built" in message
    assert "built: 0.1.0, 0.2.0" in message
    assert "nox -s build" in message


def test_project_without_an_exact_pin_is_rejected(two_versions: Workspace) -> None:
    requirements = two_versions.project("processing").directory / "requirements.txt"
    original = requirements.read_text()
    requirements.write_text("pipeline-infra>=0.1\n")
    try:
        with pytest.raises(ProjectError, match=r"no exact pin 'pipeline-infra==X\.Y\.Z'"):
            two_versions.pinned_version("processing")
    finally:
        requirements.write_text(original)


def test_shipped_projects_pin_the_current_version(workspace: Workspace) -> None:
    from pipeline_infra import __version__

    for layer in ("storage", "notifications", "processing", "replication"):
        assert workspace.pinned_version(layer) == __version__
