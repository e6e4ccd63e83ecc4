"""The program server: `python -P -m pipeline_infra_tools.programs.fork_server --parallel N`.

It imports once what every program needs and no program changes (the Pulumi SDK with its mock runtime, the
pulumi-aws modules the layer programs use, pydantic, PyYAML, the harness), and nothing of the library. For each
library version the tool's requests pin it forks a pin worker (`fork_worker`), which imports that library and
forks one child per program. A program's child runs it under the mock runtime (`programs.child`), sends its
result JSON back over a pipe and exits; the server passes answers back to the tool (`protocol`).

Forking is safe because nothing before a fork starts a thread, opens a gRPC channel or an event loop: the
SDK's mock monitor is created in the program's child (`set_mocks`), as are boto3 clients for the sandbox. The
server checks it has one thread, and no module of the library, before it serves. It runs at most `--parallel`
programs at once across its workers and queues the rest; when its input closes, its workers stop what still
runs and everything exits.
"""

from __future__ import annotations

import argparse
import gc
import os
import selectors
import signal
import sys
import tempfile
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pipeline_infra_tools.programs.fork_worker import library_modules, start_worker, thread_count, warm
from pipeline_infra_tools.programs.protocol import Header, encode, take_messages

# What the layer programs import from pulumi-aws (measured: the services their components build). pulumi-aws
# loads each service lazily, on first attribute access, which `warm` makes.
PULUMI_AWS_MODULES = ("s3", "dynamodb", "iam", "sns", "sqs", "lambda_", "cloudwatch", "pipes")
WARM_MODULES = (
    "pulumi",
    "pulumi.runtime",
    "pulumi_aws",
    *(f"pulumi_aws.{name}" for name in PULUMI_AWS_MODULES),
    "yaml",
    "pipeline_infra_tools.engine.monitor",
    "pipeline_infra_tools.programs.child",
)


def warm_pydantic() -> None:
    """pydantic builds its validators lazily: a throwaway model loads the machinery the library's models use."""
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, model_validator

    class _Nested(BaseModel):
        model_config = ConfigDict(extra="forbid", frozen=True)
        name: str = Field(min_length=1)

    class _Warm(BaseModel):
        model_config = ConfigDict(extra="forbid")
        items: list[_Nested] = []
        mapping: dict[str, int] = {}
        kind: Literal["a", "b"] = "a"
        maybe: float | None = None

        @model_validator(mode="after")
        def _check(self) -> _Warm:
            return self

    _Warm.model_validate({"items": [{"name": "x"}], "mapping": {"a": 1}, "kind": "b", "maybe": 1.0})


@dataclass
class PinWorker:
    library: str
    pid: int
    requests: int
    responses: int
    in_flight: set[int] = field(default_factory=set)
    received: bytearray = field(default_factory=bytearray)
    outgoing: bytearray = field(default_factory=bytearray)


class Server:
    """Routes each request to the worker of its pin, `parallel` at a time, and passes the answers back."""

    def __init__(self, parallel: int, scratch: Path, requests: int, responses: IO[bytes]) -> None:
        self.parallel = parallel
        self.scratch = scratch
        self.requests = requests
        self.responses = responses
        self.queue: deque[tuple[Header, bytes]] = deque()
        self.workers: dict[str, PinWorker] = {}
        self.selector = selectors.PollSelector()  # poll, unlike epoll, also takes a plain file as input
        self._received = bytearray()

    def serve(self) -> None:
        os.set_blocking(self.requests, False)
        self.selector.register(self.requests, selectors.EVENT_READ, None)
        try:
            while True:
                while self.queue and self._in_flight() < self.parallel:
                    self._dispatch(*self.queue.popleft())
                for key, _ in self.selector.select():
                    worker: PinWorker | None = key.data
                    if worker is None:
                        if not self._read_requests():
                            return  # the tool exited or closed the runner: nothing will read what still runs
                    elif self.workers.get(worker.library) is not worker:
                        continue  # stopped earlier in this round: its descriptors are closed
                    elif key.fd == worker.responses:
                        self._read_worker(worker)
                    else:
                        self._send(worker)
        finally:
            for worker in list(self.workers.values()):
                self._stop(worker)

    def _in_flight(self) -> int:
        return sum(len(worker.in_flight) for worker in self.workers.values())

    def _read_requests(self) -> bool:
        chunk = os.read(self.requests, 1 << 16)
        self._received += chunk
        self.queue.extend(take_messages(self._received))
        return bool(chunk)

    def _dispatch(self, job: Header, raw: bytes) -> None:
        library = str(job["library"])
        worker = self.workers.get(library)
        if worker is None:
            # The workers' pipes and the tool's are the server's own: a new worker must not keep them open.
            inherited = [self.requests, self.responses.fileno()]
            inherited += [fd for w in self.workers.values() for fd in (w.requests, w.responses)]
            pid, requests, responses = start_worker(library, self.scratch, float(job["timeout"]), inherited)
            worker = self.workers[library] = PinWorker(library, pid, requests, responses)
            os.set_blocking(requests, False)
            os.set_blocking(responses, False)
            self.selector.register(responses, selectors.EVENT_READ, worker)
        worker.in_flight.add(int(job["id"]))
        waiting = bool(worker.outgoing)
        worker.outgoing += raw
        if not waiting:
            self._send(worker)

    def _send(self, worker: PinWorker) -> None:
        """Write what the worker can take now; the rest when it can take more. The server never blocks on a
        worker, which may itself be blocked on answering it."""
        try:
            del worker.outgoing[: os.write(worker.requests, worker.outgoing)]
        except BlockingIOError:
            pass
        except BrokenPipeError:
            worker.outgoing.clear()  # the worker died: its end of its answers says so, and its jobs fail there
        watched = worker.requests in self.selector.get_map()
        if worker.outgoing and not watched:
            self.selector.register(worker.requests, selectors.EVENT_WRITE, worker)
        elif not worker.outgoing and watched:
            self.selector.unregister(worker.requests)

    def _read_worker(self, worker: PinWorker) -> None:
        chunk = os.read(worker.responses, 1 << 16)
        if not chunk:
            code = self._stop(worker)
            error = f"the program worker for {worker.library} exited with {code} before the program finished"
            if code == -signal.SIGALRM:  # see start_worker: the import outlived the first program's timeout
                error = f"importing the library at {worker.library} did not finish within the program's timeout"
            for job in sorted(worker.in_flight):
                self._answer(encode({"id": job, "error": error}))
            return
        worker.received += chunk
        for header, raw in take_messages(worker.received):
            worker.in_flight.discard(int(header["id"]))
            self._answer(raw)

    def _answer(self, raw: bytes) -> None:
        self.responses.write(raw)
        self.responses.flush()

    def _stop(self, worker: PinWorker) -> int:
        """Close a worker's pipes (it stops its programs and exits) and wait for it; its exit code."""
        self.workers.pop(worker.library, None)
        for fd in (worker.requests, worker.responses):
            if fd in self.selector.get_map():
                self.selector.unregister(fd)
        os.close(worker.requests)
        os.close(worker.responses)
        _, status = os.waitpid(worker.pid, 0)
        return os.waitstatus_to_exitcode(status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipeline_infra_tools.programs.fork_server")
    parser.add_argument("--parallel", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    # Ctrl-C reaches the whole process group; the tool decides, and closes the server's input to stop it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm(WARM_MODULES)
    warm_pydantic()
    if (threads := thread_count()) != 1:
        print(f"program server: {threads} threads after importing the SDK; forking is not safe", file=sys.stderr)
        return 70
    if loaded := library_modules():
        print(f"program server: the library was imported before forking: {loaded}", file=sys.stderr)
        return 70
    # What is imported now lives as long as the server: keep the collector from touching (so copying) it.
    gc.freeze()
    with tempfile.TemporaryDirectory(prefix="pipeline-programs-") as scratch:
        Server(args.parallel, Path(scratch), sys.stdin.fileno(), sys.stdout.buffer).serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
