"""What the sandbox's processes cost, read from /proc: resident memory, and CPU time over a stretch.

The runtime runs each function in a worker process of its own; its CPU is reported alone and with its workers.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
RUNTIME_PID_FILE = "runtime/runtime.pid"


def rss_mb(pid: int) -> float | None:
    """Resident memory in MiB (VmRSS), or None when the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (its function workers), found by their parent ids."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def runtime_pid(state_dir: Path) -> int | None:
    path = state_dir / RUNTIME_PID_FILE
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class IdleCpu:
    seconds: float
    runtime_percent: float
    runtime_with_workers_percent: float
    emulator_percent: float


def idle_cpu(emulator: int, runtime: int | None, seconds: float) -> IdleCpu:
    """Percent of one core each used while nothing is asked of the sandbox for `seconds`."""
    workers = descendants(runtime) if runtime else []

    def sample() -> tuple[float, float, float]:
        own = cpu_seconds(runtime) if runtime else 0.0
        return own, own + sum(cpu_seconds(w) for w in workers), cpu_seconds(emulator)

    before, started = sample(), time.monotonic()
    time.sleep(seconds)
    after, elapsed = sample(), time.monotonic() - started
    own, with_workers, emu = ((a - b) / elapsed * 100 for a, b in zip(after, before, strict=True))
    return IdleCpu(round(elapsed, 1), round(own, 2), round(with_workers, 2), round(emu, 2))


@dataclass
class MemorySampler:
    """Samples a process's RSS every `interval` seconds on a thread of its own, keeping the first, peak and last."""

    pid: int
    interval: float = 1.0
    samples: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> MemorySampler:
        self._sample()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()

    def figures(self) -> dict[str, float | None]:
        if not self.samples:
            return {"start": None, "peak": None, "end": None}
        return {
            "start": round(self.samples[0], 1),
            "peak": round(max(self.samples), 1),
            "end": round(self.samples[-1], 1),
        }

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        value = rss_mb(self.pid)
        if value is not None:
            self.samples.append(value)
