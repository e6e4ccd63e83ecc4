"""Prod write → both replicas: one thread polls every change being timed until each target holds it.

One poller for all changes in flight (rather than one per change) keeps the reads it adds to the emulator's
load small and steady; a change counts as arrived at the first sweep that finds it in both targets.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.soak.replicas import Replicas
    from tests.soak.workload import Change, Workload

SWEEP_PAUSE_SECONDS = 0.02


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


@dataclass
class LatencyProbe:
    replicas: Replicas
    workload: Workload
    latencies: list[float] = field(default_factory=list)
    first_issued: float | None = None
    last_arrived: float | None = None
    timed_out: int = 0
    _pending: dict[int, tuple[Change, set[str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> LatencyProbe:
        self._thread = threading.Thread(target=self._run, name="latency-probe", daemon=True)
        self._thread.start()
        return self

    def watch(self, change: Change) -> None:
        """Time `change`; its key stays busy (no overwrite, no delete) until both replicas hold it."""
        with self._lock:
            self._pending[change.index] = (change, set(self.replicas.names))
            self.first_issued = self.first_issued or change.issued_at
            self.workload.busy.add(change.identity)

    def finish(self, stall_seconds: float) -> None:
        """Wait for every watched change to arrive while they keep arriving; once none has arrived for
        `stall_seconds`, the rest count as timed out."""
        arrived, progress_at = -1, time.monotonic()
        while time.monotonic() - progress_at < stall_seconds:
            with self._lock:
                if not self._pending:
                    break
                if len(self.latencies) > arrived:
                    arrived, progress_at = len(self.latencies), time.monotonic()
            time.sleep(0.05)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            self.timed_out += len(self._pending)
            for change, _ in self._pending.values():
                self.workload.busy.discard(change.identity)
            self._pending.clear()

    def figures(self) -> dict[str, float | int | None]:
        values = self.latencies
        if not values:
            return {"n": 0, "p50": None, "p95": None, "max": None, "timed_out": self.timed_out}
        span = (self.last_arrived or 0.0) - (self.first_issued or 0.0)
        return {
            "n": len(values),
            "p50": round(percentile(values, 0.50), 3),
            "p95": round(percentile(values, 0.95), 3),
            "max": round(max(values), 3),
            "timed_out": self.timed_out,
            # Changes carried to both targets a second, first write to last arrival: below the issue rate, the
            # replicas fall behind and the latencies above are mostly queueing.
            "delivered_per_second": round(len(values) / span, 2) if span > 0 else None,
        }

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pending = [(change, set(envs)) for change, envs in self._pending.values()]
            for change, envs in pending:
                arrived = {env for env in envs if self.replicas.matches(change, env)}
                seen_at = time.monotonic()
                with self._lock:
                    entry = self._pending.get(change.index)
                    if entry is None:
                        continue
                    entry[1].difference_update(arrived)
                    if not entry[1]:
                        del self._pending[change.index]
                        self.workload.busy.discard(change.identity)
                        self.latencies.append(seen_at - change.issued_at)
                        self.last_arrived = seen_at
            time.sleep(SWEEP_PAUSE_SECONDS)
