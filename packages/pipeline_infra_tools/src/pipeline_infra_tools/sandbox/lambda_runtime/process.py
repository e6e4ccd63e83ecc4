"""The runtime as a background process: started by `sandbox up`, stopped by `sandbox down`."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pipeline_infra_tools.sandbox.exceptions import SandboxError
from pipeline_infra_tools.sandbox.lambda_runtime import log_format
from pipeline_infra_tools.sandbox.lambda_runtime.files import LOG_FILE, PID_FILE, RUNTIME_STATE_FILES
from pipeline_infra_tools.sandbox.lambda_runtime.service import LambdaRuntime
from pipeline_infra_tools.sandbox.state import SandboxStateFile
from pipeline_infra_tools.workspace import command_prefix


def _pid_path(state_dir: Path) -> Path:
    return state_dir / PID_FILE


def running_pid(state_dir: Path) -> int | None:
    path = _pid_path(state_dir)
    if not path.is_file():
        return None
    pid = int(path.read_text().strip() or 0)
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    status = Path(f"/proc/{pid}/status")
    # A runtime that died but was not yet reaped by its parent is not running.
    if status.is_file() and "\nState:\tZ" in status.read_text(errors="replace"):
        return None
    return pid


def start(state_dir: Path) -> int:
    """Start the runtime for the sandbox recorded in `state_dir`, or return the running one's pid."""
    pid = running_pid(state_dir)
    if pid is not None:
        return pid
    log_path = state_dir / LOG_FILE
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline_infra_tools.sandbox.lambda_runtime", str(state_dir)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _pid_path(state_dir).write_text(str(process.pid))
    time.sleep(0.2)
    if process.poll() is not None:
        raise SandboxError(f"the local Lambda runtime exited at once with {process.returncode}; see {log_path}")
    return process.pid


def stop(state_dir: Path, timeout: float = 10.0) -> bool:
    pid = running_pid(state_dir)
    _pid_path(state_dir).unlink(missing_ok=True)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


def runtime_for(state_dir: Path) -> LambdaRuntime:
    """A runtime bound to the running sandbox (for one-off invocations from the command line)."""
    state = SandboxStateFile(state_dir).load()
    if state is None:
        raise SandboxError(f"no sandbox running: run `{command_prefix()} sandbox up`")
    return LambdaRuntime(state, state_dir)


def attach_taps(state_dir: Path) -> None:
    """Give every deployed rule with Lambda targets its tap queue now (the runtime does the same on reload)."""
    runtime = runtime_for(state_dir)
    try:
        runtime.reload()
    finally:
        runtime.close()


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    state_dir = Path(args[0])
    log_format.configure()
    runtime = runtime_for(state_dir)
    stop_event = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop_event.set())
    signal.signal(signal.SIGINT, lambda *_: stop_event.set())
    logging.getLogger("pipeline_infra_tools.sandbox.runtime").info("runtime started for %s", runtime.endpoint)
    runtime.run(stop_event)
    return 0


def describe(state_dir: Path) -> dict[str, object]:
    pid = running_pid(state_dir)
    return {"running": pid is not None, "pid": pid, "log": str(state_dir / LOG_FILE)}


__all__ = ["LOG_FILE", "RUNTIME_STATE_FILES", "describe", "main", "running_pid", "runtime_for", "start", "stop"]
