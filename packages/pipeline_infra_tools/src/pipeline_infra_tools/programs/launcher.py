"""The process launcher: every program in a fresh interpreter, importing the library version its layer pins.

The fallback runner. Each program pays for importing Python, the Pulumi SDK, pulumi-aws and pydantic again
(about 0.7 s a program on an idle machine), so the fork server (`fork_client`) is used wherever fork is safe;
this one is used where it is not (macOS, Windows) or when `$PIPELINE_PROGRAM_RUNNER=process` asks for it.
It needs nothing but `subprocess`, and stays the reference the fork server's output is compared with.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.programs.request import finished, program_request, timed_out

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.harness import StackResult
    from pipeline_infra_tools.programs.request import ProgramRequest
    from pipeline_infra_tools.workspace import Workspace


class ProcessRunner:
    """Runs each request as `python -m pipeline_infra_tools.programs.child`, `parallel` at a time."""

    kind = "process"

    def __init__(self, parallel: int = 2) -> None:
        self.parallel = parallel
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="program")
        self._closed = False

    @property
    def alive(self) -> bool:
        return not self._closed

    def submit(self, request: ProgramRequest) -> Future[StackResult]:
        return self._pool.submit(self.run, request)

    def run(self, request: ProgramRequest) -> StackResult:
        with tempfile.TemporaryDirectory(prefix=f"pipeline-{request.project}-{request.stack}-") as scratch:
            request_path = Path(scratch) / "request.json"
            result_path = Path(scratch) / "result.json"
            request_path.write_text(json.dumps({**request.child_request(), "result": str(result_path)}))
            try:
                completed = subprocess.run(
                    [sys.executable, "-m", "pipeline_infra_tools.programs.child", str(request_path)],
                    env=request.child_environment(),
                    cwd=request.project_dir,
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=request.timeout,
                )
            except subprocess.TimeoutExpired as err:
                raise timed_out(request) from err
            document = result_path.read_text(encoding="utf-8") if result_path.is_file() else ""
        return finished(request, completed.returncode, document, completed.stderr)

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True)


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
    """Run projects/<layer> as stack <env> with its pinned library, on this process's program runner."""
    from pipeline_infra_tools.programs.runner import shared_runner

    request = program_request(workspace, layer, env, backend, backend_options, references_dir, artifact, extra_env)
    return shared_runner().submit(request).result()
