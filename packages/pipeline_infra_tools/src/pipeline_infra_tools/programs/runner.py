"""Which program runner a process uses, and running many programs in dependency order, in parallel.

A runner takes `ProgramRequest`s and returns futures of `StackResult`s:

- `ForkRunner` (the default on Linux): a server process imports the Pulumi SDK, pulumi-aws and pydantic once;
  for each library version in use it forks a worker that imports that version, and each program runs in a
  fresh child forked from the worker of the version its project pins.
- `ProcessRunner` (the fallback): a fresh interpreter per program. Used where forking a process that has
  imported the SDK is not safe: on macOS system frameworks may not survive a fork without exec (Python's own
  multiprocessing stopped forking there in 3.8), and Windows has no fork. `$PIPELINE_PROGRAM_RUNNER=process`
  selects it anywhere, `fork` insists on the fork server.

Each tool process starts one runner, when it first runs a program, and stops it when it exits.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from concurrent.futures import FIRST_COMPLETED, wait
from typing import TYPE_CHECKING, Protocol

from pipeline_infra_tools.exceptions import ProgramError, ProjectError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from concurrent.futures import Future

    from pipeline_infra_tools.engine.harness import StackResult
    from pipeline_infra_tools.programs.request import ProgramRequest

RUNNER_ENV = "PIPELINE_PROGRAM_RUNNER"
RUNNERS = ("fork", "process")
Stack = tuple[str, str]


class ProgramRunner(Protocol):
    """Runs programs, each isolated in its own process, as many at once as it was built for."""

    kind: str
    parallel: int

    @property
    def alive(self) -> bool:
        """False once closed, or once its processes are gone: `shared_runner` then starts a new one."""
        ...

    def submit(self, request: ProgramRequest) -> Future[StackResult]:
        """Start the program; the future raises ProgramError naming its project and stack if it fails."""
        ...

    def close(self) -> None:
        """Stop the runner's processes; programs still running are stopped."""
        ...


def fork_is_safe() -> bool:
    """Fork without exec is used only on Linux (see the module docstring for why not elsewhere)."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def runner_kind(requested: str | None = None) -> str:
    kind = requested or os.environ.get(RUNNER_ENV, "").strip() or ("fork" if fork_is_safe() else "process")
    if kind not in RUNNERS:
        raise ProjectError(f"${RUNNER_ENV}={kind!r}: expected one of {list(RUNNERS)}")
    if kind == "fork" and not fork_is_safe():
        raise ProjectError(f"the fork program runner needs Linux (this is {sys.platform}); use {RUNNER_ENV}=process")
    return kind


def make_runner(kind: str | None = None, parallel: int | None = None) -> ProgramRunner:
    """A new runner of `kind` (default: $PIPELINE_PROGRAM_RUNNER, else fork where it is safe)."""
    # Programs are CPU-bound; one per core keeps the machine busy without thrashing.
    workers = parallel or os.cpu_count() or 1
    if runner_kind(kind) == "fork":
        from pipeline_infra_tools.programs.fork_client import ForkRunner

        return ForkRunner(parallel=workers)
    from pipeline_infra_tools.programs.launcher import ProcessRunner

    return ProcessRunner(parallel=workers)


class _Shared:
    """This process's runner, and which process started it."""

    lock = threading.Lock()
    runner: ProgramRunner | None = None
    pid = 0


def shared_runner() -> ProgramRunner:
    """This process's runner, started on first use and stopped at exit."""
    with _Shared.lock:
        current = _Shared.runner
        # A runner belongs to the process that started it: a forked copy of this process starts its own.
        mine = current is not None and _Shared.pid == os.getpid()
        if current is None or not mine or not current.alive:
            if current is not None and mine:
                current.close()
            _Shared.runner, _Shared.pid = make_runner(), os.getpid()
        assert _Shared.runner is not None
        return _Shared.runner


def close_shared_runner() -> None:
    with _Shared.lock:
        if _Shared.runner is not None and _Shared.pid == os.getpid():
            _Shared.runner.close()
        _Shared.runner = None


atexit.register(close_shared_runner)


def run_in_order(
    runner: ProgramRunner,
    stacks: Sequence[Stack],
    upstream: Callable[[Stack], Iterable[Stack]],
    request_for: Callable[[Stack], ProgramRequest],
    on_result: Callable[[Stack, StackResult], object],
) -> dict[Stack, StackResult]:
    """Run every stack once the stacks it reads (among `stacks`) have finished, as many at once as the runner
    allows. A failed program stops only the stacks that read it; the others finish, then one ProgramError
    names every failure and what was not run because of it."""
    wanted = set(stacks)
    results: dict[Stack, StackResult] = {}
    failed: dict[Stack, str] = {}
    blocked: dict[Stack, Stack] = {}
    waiting = list(stacks)
    running: dict[Future[StackResult], Stack] = {}
    while waiting or running:
        for stack in list(waiting):
            upstreams = [u for u in upstream(stack) if u in wanted]
            stopped = next((u for u in upstreams if u in failed or u in blocked), None)
            if stopped is not None:
                blocked[stack] = blocked.get(stopped, stopped)
                waiting.remove(stack)
            elif all(u in results for u in upstreams):
                running[runner.submit(request_for(stack))] = stack
                waiting.remove(stack)
        if not running:
            if waiting:
                raise ProgramError(f"stacks {sorted(waiting)} read each other; the layer graph has a cycle")
            break
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            stack = running.pop(future)
            try:
                result = future.result()
            except ProgramError as err:
                failed[stack] = str(err)
            else:
                # Saved before anything that reads it is submitted, so its StackReferences resolve.
                on_result(stack, result)
                results[stack] = result
    if failed:
        lines = [*failed.values()]
        lines += [f"{a}/{b}: not run, it reads {c}/{d}, which failed" for (a, b), (c, d) in blocked.items()]
        raise ProgramError("\n".join(lines))
    return results
