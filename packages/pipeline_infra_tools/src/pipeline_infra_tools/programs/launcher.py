"""Run one layer's program in its own process, importing the library version that layer pins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra.stack_config import CONFIG_DIR_ENV, FUNCTION_ARTIFACT_ENV
from pipeline_infra_tools.engine.backend import RecordedResource
from pipeline_infra_tools.engine.harness import StackResult
from pipeline_infra_tools.exceptions import ProgramError

if TYPE_CHECKING:
    from pipeline_infra_tools.workspace import Workspace


def result_from_json(data: dict[str, Any]) -> StackResult:
    return StackResult(
        project=data["project"],
        stack=data["stack"],
        outputs=data.get("outputs", {}),
        resources=[RecordedResource(**resource) for resource in data.get("resources", [])],
    )


def run_layer(
    workspace: Workspace,
    layer: str,
    env: str,
    backend: str,
    backend_options: dict[str, Any],
    references_dir: Path,
    artifact: Path,
    extra_env: dict[str, str] | None = None,
) -> StackResult:
    """Run projects/<layer> as stack <env> in a fresh interpreter with the pinned pipeline-infra first on the path."""
    project = workspace.project(layer)
    library = workspace.library_path(layer)
    with tempfile.TemporaryDirectory(prefix=f"pipeline-{layer}-{env}-") as scratch:
        request_path = Path(scratch) / "request.json"
        result_path = Path(scratch) / "result.json"
        request = {
            "project_dir": str(project.directory),
            "stack": env,
            "backend": backend,
            "backend_options": backend_options,
            "references_dir": str(references_dir),
            "result": str(result_path),
        }
        request_path.write_text(json.dumps(request), encoding="utf-8")
        child_env = {
            **os.environ,
            **(extra_env or {}),
            "PYTHONPATH": os.pathsep.join([str(library), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            CONFIG_DIR_ENV: str(workspace.config_dir),
            FUNCTION_ARTIFACT_ENV: str(artifact),
            "PIPELINE_ROOT": str(workspace.root),
        }
        completed = subprocess.run(
            [sys.executable, "-m", "pipeline_infra_tools.programs.child", str(request_path)],
            env=child_env,
            cwd=project.directory,
            capture_output=True,
            text=True,
            check=False,
        )
        if not result_path.is_file():
            tail = "\n".join(completed.stderr.strip().splitlines()[-15:])
            raise ProgramError(f"{layer}/{env}: the program process exited with {completed.returncode}:\n{tail}")
        data = json.loads(result_path.read_text(encoding="utf-8"))
    if "error" in data:
        raise ProgramError(f"{layer}/{env}: {data['error']}")
    return result_from_json(data)
