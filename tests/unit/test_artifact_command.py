"""`pipeline-infra artifact` and how a program finds the artifact without walking the repository."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pipeline_infra.stack_config import FUNCTION_ARTIFACT_ENV
from pipeline_infra_tools.engine.harness import StackOutputsStore, StackResult
from pipeline_infra_tools.exceptions import ProgramError
from pipeline_infra_tools.programs.launcher import run_layer
from pipeline_infra_tools.workspace import Workspace
from tests.conftest import ROOT

CLI = Path(sys.executable).parent / "pipeline-infra"
RENDER_OPTIONS = {"account_id": "123456789012", "region": "us-east-1"}


def test_shell_form_exports_a_built_artifact_that_carries_no_pulumi(workspace: Workspace) -> None:
    # WHEN a user evaluates what the command prints, as the README says
    completed = subprocess.run(
        ["bash", "-c", f'eval "$({CLI} artifact)" && printf %s "${FUNCTION_ARTIFACT_ENV}"'],
        cwd=workspace.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    # THEN the variable names a zip holding the functions and none of Pulumi, the library or the tool
    artifact = Path(completed.stdout)
    assert artifact.is_file(), completed.stdout
    with zipfile.ZipFile(artifact) as archive:
        top_levels = {name.split("/", 1)[0] for name in archive.namelist()}
    assert "pipeline_functions" in top_levels
    assert not top_levels & {"pulumi", "pulumi_aws", "pipeline_infra", "pipeline_infra_tools"}


def test_json_form_names_the_variable_and_the_size(workspace: Workspace) -> None:
    completed = subprocess.run(
        [str(CLI), "artifact", "--format", "json"], cwd=workspace.root, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    document = json.loads(completed.stdout)
    assert document["variable"] == FUNCTION_ARTIFACT_ENV
    assert Path(document["path"]).stat().st_size == document["bytes"]


def render_processing(workspace: Workspace, artifact: Path, refs: Path) -> StackResult:
    """Render dev's processing layer, its upstream stacks first, with `artifact` as the function code."""
    for layer in ("storage", "notifications"):
        StackOutputsStore(refs).save(run_layer(workspace, layer, "dev", "render", RENDER_OPTIONS, refs, artifact))
    return run_layer(workspace, "processing", "dev", "render", RENDER_OPTIONS, refs, artifact)


def test_program_away_from_the_repository_runs_with_only_the_artifact_path(tmp_path: Path) -> None:
    # GIVEN a workspace with no packages/ (nothing to build the artifact from) and an artifact built elsewhere
    for part in ("projects", "shared_config", "dist"):
        shutil.copytree(ROOT / part, tmp_path / "workspace" / part)
    completed = subprocess.run(
        [str(CLI), "artifact", "--format", "json"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    artifact = Path(json.loads(completed.stdout)["path"])
    # WHEN the processing program runs there
    result = render_processing(Workspace(tmp_path / "workspace"), artifact, tmp_path / "refs")
    # THEN every function's code is that artifact
    functions = [r for r in result.resources if r.type == "aws:lambda/function:Function"]
    assert len(functions) == 2
    assert {str(f.inputs["code"]["path"]) for f in functions} == {str(artifact)}


def test_program_given_a_missing_artifact_names_the_setting(workspace: Workspace, tmp_path: Path) -> None:
    missing = tmp_path / "functions-missing.zip"
    with pytest.raises(ProgramError) as err:
        render_processing(workspace, missing, tmp_path / "refs")
    assert str(missing) in str(err.value)
    assert "functionArtifact" in str(err.value)
