"""The tool's side of the program server: start it, send it requests, turn its answers into results.

One server per runner (one per tool process, see `runner.shared_runner`). Requests are written from any
thread; one reader thread resolves each request's future from the server's answers. If the server dies,
every program still waiting fails with its output, and the next `shared_runner()` starts a new server.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.exceptions import ProgramError
from pipeline_infra_tools.programs.protocol import encode, read_message
from pipeline_infra_tools.programs.request import finished, timed_out

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.harness import StackResult
    from pipeline_infra_tools.programs.request import ProgramRequest

SERVER_MODULE = "pipeline_infra_tools.programs.fork_server"
# How long close() waits for the server to stop on its own once its input is closed.
STOP_SECONDS = 10.0


class ForkRunner:
    """Programs run in children forked from a server that imported the SDK once (see `fork_server`)."""

    kind = "fork"

    def __init__(self, parallel: int = 2) -> None:
        self.parallel = parallel
        # The server's own errors (an import that fails) go to a file, quoted if it dies.
        log, self._log = tempfile.mkstemp(prefix="pipeline-program-server-", suffix=".log")
        try:
            # -P: the working directory is not put on the server's path, so nothing in it shadows its imports.
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", SERVER_MODULE, "--parallel", str(parallel)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        finally:
            os.close(log)
        self._lock = threading.Lock()  # guards the pending requests
        self._write_lock = threading.Lock()  # one request at a time on the server's input
        self._broken = ""
        self._next_id = 0
        self._pending: dict[int, tuple[ProgramRequest, Future[StackResult]]] = {}
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="program-server-reader", daemon=True)
        self._reader.start()

    @property
    def alive(self) -> bool:
        return not self._closed and self._process.poll() is None

    def submit(self, request: ProgramRequest) -> Future[StackResult]:
        future: Future[StackResult] = Future()
        message = {
            "request": request.child_request(),
            "env": request.child_environment(),
            "project_dir": str(request.project_dir),
            "library": str(request.library),
            "timeout": request.timeout,
        }
        with self._lock:
            if not self.alive:
                future.set_exception(self._server_failed(request))
                return future
            self._next_id += 1
            job = self._next_id
            self._pending[job] = (request, future)
        # Written outside the pending lock: the reader must always be free to take answers, or a server
        # blocked on answering would never read this.
        try:
            with self._write_lock:
                assert self._process.stdin is not None
                self._process.stdin.write(encode({"id": job, **message}))
                self._process.stdin.flush()
        except (OSError, ValueError):  # the server is gone, or the runner was closed
            with self._lock:
                lost = self._pending.pop(job, None)
            if lost is not None:
                future.set_exception(self._server_failed(request))
        return future

    def _read(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        try:
            while (message := read_message(stream)) is not None:
                header, payload = message
                with self._lock:
                    request, future = self._pending.pop(int(header["id"]))
                self._resolve(request, future, header, payload)
        except (OSError, ValueError, KeyError) as err:
            self._broken = f"the program server's answer could not be read ({type(err).__name__}: {err})"
            self._process.kill()
        finally:
            # The server is gone (closed, or it died): nothing pending will be answered.
            self._process.wait()
            with self._lock:
                pending, self._pending = self._pending, {}
            for request, future in pending.values():
                future.set_exception(self._server_failed(request))

    @staticmethod
    def _resolve(request: ProgramRequest, future: Future[StackResult], header: dict[str, Any], payload: bytes) -> None:
        try:
            if header.get("error"):
                raise ProgramError(f"{request.name}: {header['error']}")
            if header["timed_out"]:
                raise timed_out(request)
            result = finished(request, header["exit"], payload.decode(), header["output"])
        except ProgramError as err:
            future.set_exception(err)
        except ValueError as err:  # a result that is not JSON: report it as the program's failure
            future.set_exception(ProgramError(f"{request.name}: the program's result is not valid JSON: {err}"))
        else:
            future.set_result(result)

    def _server_failed(self, request: ProgramRequest) -> ProgramError:
        code = self._process.poll()
        try:
            tail = "\n".join(Path(self._log).read_text(errors="replace").strip().splitlines()[-15:])
        except OSError:
            tail = ""
        state = self._broken or ("was closed" if self._closed else f"exited with {code}")
        return ProgramError(f"{request.name}: the program server {state} before the program finished\n{tail}".strip())

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            busy = bool(self._pending)
            if self._process.stdin is not None:
                with contextlib.suppress(OSError):
                    self._process.stdin.close()  # the server stops what still runs and exits
        if not busy:
            # Nothing runs (a child dies with the server anyway): no need to wait for it to finish its imports.
            self._process.kill()
        try:
            self._process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=STOP_SECONDS)
        if self._process.stdout is not None:
            self._process.stdout.close()
        Path(self._log).unlink(missing_ok=True)
