"""One program to run: what the runners need to start it, and how its outcome becomes a result or an error.

Both runners (the fork server and the process launcher) take a `ProgramRequest` and report through the same
helpers, so a program's result, its error and the message for a crash or a timeout read the same whichever
runner ran it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeline_infra.stack_config import CONFIG_DIR_ENV, FUNCTION_ARTIFACT_ENV
from pipeline_infra_tools.engine.backend import RecordedResource
from pipeline_infra_tools.engine.harness import StackResult
from pipeline_infra_tools.exceptions import ProgramError, ProjectError

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline_infra_tools.workspace import Workspace

TIMEOUT_ENV = "PIPELINE_PROGRAM_TIMEOUT"
# Generous: a deploy program waits on the emulator for every resource it creates.
DEFAULT_TIMEOUT_SECONDS = 300.0
# Lines of a crashed program's output quoted in its error.
TAIL_LINES = 15


def default_timeout() -> float:
    """$PIPELINE_PROGRAM_TIMEOUT seconds, else DEFAULT_TIMEOUT_SECONDS."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise ProjectError(f"${TIMEOUT_ENV}={raw!r}: expected a number of seconds greater than 0")
    return seconds


@dataclass(frozen=True)
class ProgramRequest:
    """Run `project_dir`'s program as `stack` with `library` (the pinned pipeline-infra) first on its path."""

    project_dir: Path
    project: str  # the Pulumi project name, from Pulumi.yaml
    stack: str
    backend: str  # "render" or "sandbox" (engine backends, built inside the program's process)
    backend_options: dict[str, Any]
    references_dir: Path  # saved stack outputs that StackReferences resolve from
    library: Path
    environment: dict[str, str] = field(default_factory=dict)  # set over the caller's environment
    label: str = ""  # what errors start with; the project and stack unless given
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def name(self) -> str:
        return self.label or f"{self.project}/{self.stack}"

    def child_request(self) -> dict[str, Any]:
        """The JSON `programs.child` runs (the process launcher adds where to write the result)."""
        return {
            "project_dir": str(self.project_dir),
            "stack": self.stack,
            "backend": self.backend,
            "backend_options": self.backend_options,
            "references_dir": str(self.references_dir),
        }

    def child_environment(self) -> dict[str, str]:
        """The program's environment: the caller's at submission, the request's settings, the library path."""
        python_path = os.pathsep.join([str(self.library), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        return {**os.environ, **self.environment, "PYTHONPATH": python_path}


def program_request(
    workspace: Workspace,
    layer: str,
    env: str,
    backend: str,
    backend_options: dict[str, Any],
    references_dir: Path,
    artifact: Path,
    extra_env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> ProgramRequest:
    """The request for projects/<layer> as stack <env>, with the library version the layer pins."""
    project = workspace.project(layer)
    return ProgramRequest(
        project_dir=project.directory,
        project=project.name,
        stack=env,
        backend=backend,
        backend_options=backend_options,
        references_dir=references_dir,
        library=workspace.library_path(layer),
        environment={
            **(extra_env or {}),
            CONFIG_DIR_ENV: str(workspace.config_dir),
            FUNCTION_ARTIFACT_ENV: str(artifact),
            "PIPELINE_ROOT": str(workspace.root),
        },
        label=f"{layer}/{env}",
        timeout=timeout if timeout is not None else default_timeout(),
    )


def result_from_json(data: dict[str, Any]) -> StackResult:
    return StackResult(
        project=data["project"],
        stack=data["stack"],
        outputs=data.get("outputs", {}),
        resources=[RecordedResource(**resource) for resource in data.get("resources", [])],
    )


def finished(request: ProgramRequest, exit_code: int | None, document: str, output: str) -> StackResult:
    """The result of a program that ended: its result document, the error it reported, or how it crashed."""
    if not document or exit_code not in (0, 1):
        # No result: the process died before writing one (an import error, a signal, os._exit).
        tail = "\n".join(output.strip().splitlines()[-TAIL_LINES:])
        raise ProgramError(f"{request.name}: the program process exited with {exit_code}:\n{tail}")
    data = json.loads(document)
    if "error" in data:
        raise ProgramError(f"{request.name}: {data['error']}")
    return result_from_json(data)


def timed_out(request: ProgramRequest) -> ProgramError:
    return ProgramError(
        f"program {request.project}/{request.stack} did not finish within {request.timeout:g} s and was stopped "
        f"(set ${TIMEOUT_ENV} to allow longer)"
    )
