"""Each project runs the library version it pins; the tool is not pinned, and refuses pins it cannot run."""

from __future__ import annotations

import json
import shutil
import tomllib
import zipfile
from typing import TYPE_CHECKING

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from pipeline_infra_tools.artifact import function_artifact_path
from pipeline_infra_tools.compatibility import SUPPORTED_LIBRARY
from pipeline_infra_tools.exceptions import ProjectError, UnsupportedLibraryError
from pipeline_infra_tools.programs.launcher import run_layer
from pipeline_infra_tools.workspace import Workspace
from tests.conftest import ROOT, build_library_wheel

if TYPE_CHECKING:
    from pathlib import Path

LIBRARY = ROOT / "packages" / "pipeline_infra"
TOOLS = ROOT / "packages" / "pipeline_infra_tools"
CURRENT = tomllib.loads((LIBRARY / "pyproject.toml").read_text())["project"]["version"]
# The next release in the same supported series, with a component change the renders can see.
NEXT = str(Version(CURRENT).major) + "." + str(Version(CURRENT).minor) + "." + str(Version(CURRENT).micro + 1)
NEXT_TAG = f"pulumi/pipeline-infra-{NEXT}"


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


def release_next(source: Path, destination: Path, dist: Path) -> Path:
    """Copy the library, change what it tags every resource with, bump it to NEXT and build it into `dist`."""
    shutil.copytree(source, destination, ignore=shutil.ignore_patterns("__pycache__"))
    pyproject = destination / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'version = "{CURRENT}"', f'version = "{NEXT}"'))
    context = destination / "src" / "pipeline_infra" / "context.py"
    original = context.read_text()
    assert 'MANAGED_BY_TAG: "pulumi"' in original, "the default tags moved; point this test at their new home"
    context.write_text(original.replace('MANAGED_BY_TAG: "pulumi"', f'MANAGED_BY_TAG: "{NEXT_TAG}"'))
    build_library_wheel(destination, dist)
    return dist / f"pipeline_infra-{NEXT}-py3-none-any.whl"


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace whose dist/ holds the current library and the next release, which tags resources differently."""
    root = tmp_path_factory.mktemp("pinned")
    shutil.copytree(ROOT / "projects", root / "projects")
    shutil.copytree(ROOT / "shared_config", root / "shared_config")
    build_library_wheel(LIBRARY, root / "dist")
    release_next(LIBRARY, root / "library-next", root / "dist")
    return Workspace(root)


def test_both_versions_are_built(two_versions: Workspace) -> None:
    assert two_versions.built_versions() == [CURRENT, NEXT]


def test_change_reaches_a_project_only_when_its_pin_changes(two_versions: Workspace, tmp_path: Path) -> None:
    # GIVEN every project pinned to the current release
    assert two_versions.pinned_version("storage") == CURRENT
    assert managed_by(two_versions, "storage", tmp_path) == "pulumi"
    # WHEN only storage moves its pin to the next release
    pin(two_versions, "storage", NEXT)
    try:
        # THEN storage runs the new components with the same tool, and notifications still runs the old ones
        assert managed_by(two_versions, "storage", tmp_path) == NEXT_TAG
        assert managed_by(two_versions, "notifications", tmp_path) == "pulumi"
    finally:
        pin(two_versions, "storage", CURRENT)


def test_library_wheel_bytes_do_not_change_when_only_tooling_changes(tmp_path: Path) -> None:
    # GIVEN a copy of the packages and the library wheel built from it
    packages = tmp_path / "packages"
    for name in ("pipeline_infra", "pipeline_infra_tools"):
        shutil.copytree(ROOT / "packages" / name, packages / name, ignore=shutil.ignore_patterns("__pycache__"))
    build_library_wheel(packages / "pipeline_infra", tmp_path / "before")
    # WHEN the tooling changes (a help string and a whole new module)
    cli = packages / "pipeline_infra_tools" / "src" / "pipeline_infra_tools" / "cli" / "__init__.py"
    cli.write_text(cli.read_text().replace("Exit codes:", "Exit codes (changed):"))
    (cli.parent / "new_command.py").write_text('"""A new command."""\n')
    build_library_wheel(packages / "pipeline_infra", tmp_path / "after")
    # THEN the pinned wheel is the same, byte for byte, and holds nothing of the tool
    wheel = f"pipeline_infra-{CURRENT}-py3-none-any.whl"
    before, after = (tmp_path / "before" / wheel).read_bytes(), (tmp_path / "after" / wheel).read_bytes()
    assert before == after, "the library wheel changed although only the tooling did"
    with zipfile.ZipFile(tmp_path / "after" / wheel) as archive:
        top_levels = {name.split("/", 1)[0] for name in archive.namelist()}
    assert top_levels == {"pipeline_infra", f"pipeline_infra-{CURRENT}.dist-info"}


@pytest.mark.parametrize("version", ["0.1.0", "0.3.0", "1.0.0"])
def test_pin_outside_the_supported_range_stops_with_what_the_tool_supports(
    two_versions: Workspace, version: str
) -> None:
    pin(two_versions, "notifications", version)
    try:
        with pytest.raises(UnsupportedLibraryError) as err:
            two_versions.library_path("notifications")
    finally:
        pin(two_versions, "notifications", CURRENT)
    message = str(err.value)
    assert f"pipeline-infra=={version} is pinned" in message
    assert f"supports pipeline-infra{SUPPORTED_LIBRARY}" in message
    assert "projects/notifications/requirements.txt" in message


def test_pin_to_a_supported_version_that_is_not_built_fails_clearly(two_versions: Workspace, tmp_path: Path) -> None:
    unbuilt = f"{Version(CURRENT).major}.{Version(CURRENT).minor}.99"
    pin(two_versions, "notifications", unbuilt)
    try:
        with pytest.raises(ProjectError) as err:
            managed_by(two_versions, "notifications", tmp_path)
    finally:
        pin(two_versions, "notifications", CURRENT)
    message = str(err.value)
    assert f"pipeline-infra {unbuilt} is pinned but not built" in message
    assert f"built: {CURRENT}, {NEXT}" in message
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
    for layer in ("storage", "notifications", "processing", "replication"):
        assert workspace.pinned_version(layer) == CURRENT


def test_tool_declares_the_library_range_it_supports() -> None:
    """The tool's dependency on the library and the range it checks pins against are one range."""
    dependencies = tomllib.loads((TOOLS / "pyproject.toml").read_text())["project"]["dependencies"]
    [library] = [Requirement(d) for d in dependencies if Requirement(d).name == "pipeline-infra"]
    assert library.specifier == SUPPORTED_LIBRARY
    assert Version(CURRENT) in SUPPORTED_LIBRARY
