"""A pin worker of the program server: one process per pinned library version in use.

Forked from the server (which imported the SDK and nothing of the library), a worker puts its library first on
its path and imports every module of it, then runs programs: one forked child per program, as many at once as
the server sends it, each stopped with its process group after its timeout. A worker never runs a program
itself, so every program starts from the worker as it was after its imports: programs with the same pin share
the imported library and nothing else, and programs with different pins never meet (their libraries live in
different workers).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import importlib
import os
import pkgutil
import selectors
import signal
import sys
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NoReturn

from pipeline_infra_tools.programs.protocol import Header, take_messages, write_message

LIBRARY_PACKAGE = "pipeline_infra"
# Imported before the first deploy or preview program: boto3 and the resource handlers (clients are made
# in each child, after the fork).
SANDBOX_MODULES = ("pipeline_infra_tools.sandbox.backend", "pipeline_infra_tools.sandbox.preview")
OUTPUT_TAIL_BYTES = 8192
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def warm(modules: tuple[str, ...]) -> None:
    for name in modules:
        module = importlib.import_module(name)
        getattr(module, "__all__", None)  # any attribute loads a lazily imported pulumi-aws service


def thread_count() -> int:
    """Threads of this process, the SDK's native ones included (forking is only safe with one)."""
    tasks = Path("/proc/self/task")
    return len(list(tasks.iterdir())) if tasks.is_dir() else 1


def library_modules() -> list[str]:
    """Names of the loaded modules of the library."""
    return sorted(name for name in sys.modules if name.split(".")[0] == LIBRARY_PACKAGE)


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """Linux's parent-death signal: a worker or program never outlives the process that forked it."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):  # not Linux's libc: the parent's clean-up still applies
        _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent ended before the signal was armed
        os._exit(1)


def import_library(library: str) -> None:
    """Every module of the library at `library`. One that fails is left for the program to meet and report."""
    sys.path.insert(0, library)
    with contextlib.suppress(Exception):
        package = importlib.import_module(LIBRARY_PACKAGE)
        for module in pkgutil.walk_packages(package.__path__, f"{LIBRARY_PACKAGE}."):
            with contextlib.suppress(Exception):
                importlib.import_module(module.name)


@dataclass
class Running:
    id: int
    pid: int
    fd: int  # the read end of the child's result pipe
    output: Path
    deadline: float
    received: bytearray = field(default_factory=bytearray)


class Worker:
    """Runs the programs it is sent, each in a forked child, and answers with their results."""

    def __init__(self, library: str, scratch: Path, requests: int, responses: IO[bytes]) -> None:
        self.library = library
        self.scratch = scratch
        self.requests = requests
        self.responses = responses
        self.queue: deque[Header] = deque()
        self.running: dict[int, Running] = {}  # by result pipe
        self.selector = selectors.PollSelector()  # poll, unlike epoll, also takes a plain file as input
        self.sandbox_warm = False
        self._received = bytearray()

    def serve(self) -> None:
        os.set_blocking(self.requests, False)
        self.selector.register(self.requests, selectors.EVENT_READ, None)
        try:
            while True:
                while self.queue:
                    self._start(self.queue.popleft())
                deadline = min((r.deadline for r in self.running.values()), default=None)
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                for key, _ in self.selector.select(timeout):
                    if key.data is not None:
                        self._read_result(key.data)
                    elif not self._read_requests():
                        return  # the server is gone or done: nothing will read what still runs
                self._stop_overdue()
        finally:
            for running in list(self.running.values()):
                self._kill(running)

    def _read_requests(self) -> bool:
        chunk = os.read(self.requests, 1 << 16)
        self._received += chunk
        self.queue.extend(header for header, _ in take_messages(self._received))
        return bool(chunk)

    def _start(self, job: Header) -> None:
        if job["request"].get("backend") == "sandbox" and not self.sandbox_warm:
            warm(SANDBOX_MODULES)
            self.sandbox_warm = True
        if (threads := thread_count()) != 1:
            error = f"the program worker has {threads} threads after its imports; forking it is not safe"
            write_message(self.responses, {"id": job["id"], "error": error})
            return
        read_fd, write_fd = os.pipe()
        output = self.scratch / f"program-{job['id']}.log"
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            self._run_child(job, write_fd, output)
        os.close(write_fd)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # also done by the child: whichever runs first wins the race harmlessly
        os.set_blocking(read_fd, False)
        running = Running(job["id"], pid, read_fd, output, time.monotonic() + float(job["timeout"]))
        self.running[read_fd] = running
        self.selector.register(read_fd, selectors.EVENT_READ, running)

    def _read_result(self, running: Running) -> None:
        chunk = os.read(running.fd, 1 << 16)
        if chunk:
            running.received += chunk
            return
        self._forget(running)
        _, status = os.waitpid(running.pid, 0)
        self._respond(running, os.waitstatus_to_exitcode(status), timed_out=False)

    def _stop_overdue(self) -> None:
        now = time.monotonic()
        for running in [r for r in self.running.values() if r.deadline <= now]:
            self._kill(running)
            self._respond(running, None, timed_out=True)

    def _kill(self, running: Running) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.pid, signal.SIGKILL)  # the program and anything it started
        self._forget(running)
        os.waitpid(running.pid, 0)

    def _forget(self, running: Running) -> None:
        self.selector.unregister(running.fd)
        os.close(running.fd)
        del self.running[running.fd]

    def _respond(self, running: Running, exit_code: int | None, timed_out: bool) -> None:
        output = _tail(running.output)
        running.output.unlink(missing_ok=True)
        header = {"id": running.id, "exit": exit_code, "timed_out": timed_out, "output": output}
        write_message(self.responses, header, b"" if timed_out else bytes(running.received))

    def _run_child(self, job: Header, result_fd: int, output: Path) -> NoReturn:
        """In the forked child: become the program's process, run it, send the result, exit."""
        code = 1
        try:
            die_with_parent()
            os.setpgid(0, 0)
            # The signal handling of a fresh interpreter (the server ignores Ctrl-C; a program does not).
            signal.signal(signal.SIGINT, signal.default_int_handler)
            # The worker's pipes are its conversation with the server: the program keeps none of them. What it
            # prints goes to a file whose tail is reported if it crashes.
            # (Closed by descriptor: the file object's buffer, empty, must not be flushed from here.)
            os.close(self.requests)
            os.close(self.responses.fileno())
            log = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            for fd in (1, 2):
                os.dup2(log, fd)
            os.close(log)
            os.environ.clear()
            os.environ.update(job["env"])
            os.chdir(job["project_dir"])
            # The path of `python -m programs.child` started in the project directory with PYTHONPATH=<library>.
            sys.path.insert(0, job["project_dir"])
            _check_pin(self.library, job["library"])
            from pipeline_infra_tools.programs.child import execute

            code, document = execute(job["request"])
            view = memoryview(document.encode())
            while view:
                view = view[os.write(result_fd, view) :]
        except SystemExit as exit_:  # as an interpreter would exit: None is success, a message is failure
            code = 0 if exit_.code is None else exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
        # No interpreter shutdown: the worker's atexit handlers and buffers are not the child's to run.
        os._exit(code)


def _check_pin(worker_library: str, wanted: str) -> None:
    """The program gets the library it pins, and only that one."""
    library = Path(wanted).resolve()
    if Path(worker_library).resolve() != library:
        raise RuntimeError(f"a program pinned to {wanted} was sent to the worker of {worker_library}")
    for name in library_modules():
        origin = getattr(sys.modules[name], "__file__", None)
        if origin and not Path(origin).resolve().is_relative_to(library):
            raise RuntimeError(f"{name} was imported from {origin}, not from the pinned {wanted}")


def _tail(path: Path) -> str:
    if not path.is_file():
        return ""
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - OUTPUT_TAIL_BYTES))
        return handle.read().decode("utf-8", "replace")


def start_worker(library: str, scratch: Path, import_seconds: float, inherited: list[int]) -> tuple[int, int, int]:
    """Fork a worker for `library`: (pid, the fd to send it requests, the fd its responses arrive on).
    `inherited` are the server's descriptors the worker must not hold open (the tool's pipes, other workers')."""
    from_server, to_worker = os.pipe()
    from_worker, to_server = os.pipe()
    pid = os.fork()
    if pid != 0:
        os.close(from_server)
        os.close(to_server)
        return pid, to_worker, from_worker
    code = 0
    try:
        die_with_parent()
        for fd in (*inherited, to_worker, from_worker):
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1):
            os.dup2(devnull, fd)  # the tool's pipes: only the server answers the tool
        os.close(devnull)
        # A library whose import never returns stops its worker; the server reports its programs as failed.
        signal.alarm(max(1, int(import_seconds)))
        import_library(library)
        signal.alarm(0)
        gc.freeze()  # keep the collector from touching (so copying) the imported objects in every child
        Worker(library, scratch, from_server, os.fdopen(to_server, "wb")).serve()
    except BaseException:
        traceback.print_exc()
        code = 1
    os._exit(code)
