"""Start, probe and stop the emulator: a moto server on 127.0.0.1, detached so it outlives the command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from pipeline_infra_tools.sandbox.exceptions import SandboxError

HOST = "127.0.0.1"
SERVER_MODULE = "pipeline_infra_tools.sandbox.emulator"
# moto answers in about 0.3 s; a loaded CI machine gets far more room than that.
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
PROBE_PATH = "/moto-api/"


@dataclass(frozen=True)
class ServerProcess:
    pid: int
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"


def free_port() -> int:
    """A port nothing listens on right now (the kernel picks it), for the server to bind."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def answers(endpoint: str, timeout: float = 1.0) -> bool:
    """Whether an emulator answers at `endpoint` (its management API replies to a plain GET)."""
    try:
        with urllib.request.urlopen(endpoint + PROBE_PATH, timeout=timeout) as response:
            return bool(200 <= response.status < 500)
    except (urllib.error.URLError, OSError):
        return False


def is_server_process(pid: int) -> bool:
    """True when `pid` is alive and runs the emulator, so a recycled pid is never signalled by mistake."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if cmdline.is_file():
        try:
            return SERVER_MODULE in cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
    # No /proc (macOS): fall back to "the pid exists".
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def start_server(log_path: Path, port: int | None = None) -> ServerProcess:
    """Launch the emulator in its own session, wait until it answers and return its pid and port."""
    chosen = port or free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", SERVER_MODULE, "-H", HOST, "-p", str(chosen)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(pid=process.pid, port=chosen)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxError(
                f"the emulator exited with {process.returncode} while starting on {server.endpoint}; "
                f"see {log_path}. Is moto[server] installed (pip install 'pipeline-infra[sandbox]')?\n"
                + _tail(log_path)
            )
        if answers(server.endpoint, timeout=0.5):
            return server
        time.sleep(0.05)
    stop_server(server.pid)
    raise SandboxError(
        f"the emulator did not answer on {server.endpoint} within {START_TIMEOUT_SECONDS:.0f} s; see {log_path}"
    )


def stop_server(pid: int, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
    """Stop the emulator with `pid` (SIGTERM, then SIGKILL); False when no such emulator was running."""
    if not is_server_process(pid):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def _alive(pid: int) -> bool:
    try:
        # Reap it if it is our child; otherwise this raises and we ask the kernel instead.
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    status = Path(f"/proc/{pid}/status")
    # A zombie left by another parent counts as stopped.
    return not (status.is_file() and "\nState:\tZ" in status.read_text(errors="replace"))


def _tail(path: Path, lines: int = 15) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
