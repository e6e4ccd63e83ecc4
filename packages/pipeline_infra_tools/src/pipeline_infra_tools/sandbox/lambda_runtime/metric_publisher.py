"""The functions' EMF metrics published into the emulator's CloudWatch, as CloudWatch Logs does in AWS.

In AWS nobody calls PutMetricData for an EMF line: CloudWatch Logs extracts the metrics from the function's log
group, whatever the function's role allows. Here the runtime plays that service with the sandbox administrator's
keys, in the function's region. Publishing happens on one background thread, in batches of whatever has queued
up, so an invocation never waits for it and never fails because of it; a batch that cannot be published is
logged as one `emf_publish_failed` line in the runtime's log and dropped, as CloudWatch drops a malformed record.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.lambda_runtime.emf import EmfFormatError, metric_data, put_metric_data_requests

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra_tools.sandbox.lambda_runtime.emf import MetricDatum

log = logging.getLogger("pipeline_infra_tools.sandbox.runtime")
# How long closing the runtime waits for metrics still queued (a one-off `sandbox invoke` ends right after).
FLUSH_SECONDS = 10.0


@dataclass(frozen=True)
class EmfBatch:
    """The EMF records one invocation printed."""

    function: str
    where: str  # the function's ARN (its account and region), or a region
    records: list[dict[str, Any]]


class MetricPublisher:
    """Queues EMF records and publishes them from one thread; `client_for(where)` makes a CloudWatch client
    of the account and region `where` (a function's ARN) names."""

    def __init__(self, client_for: Callable[[str], Any]) -> None:
        self._client_for = client_for
        self._clients: dict[str, Any] = {}  # only the publishing thread uses them
        self._queue: queue.SimpleQueue[EmfBatch | None] = queue.SimpleQueue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, function: str, where: str, records: list[dict[str, Any]]) -> None:
        """Queue one invocation's records; returns at once."""
        if not records:
            return
        self._ensure_thread()
        with self._idle:
            self._pending += 1
        self._queue.put(EmfBatch(function, where, records))

    def flush(self, timeout: float = FLUSH_SECONDS) -> bool:
        """Wait until everything queued so far is published (or dropped); False when the timeout passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = FLUSH_SECONDS) -> None:
        self.flush(timeout)
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="emf-publisher", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batches = [first]
            # Whatever queued up meanwhile goes in the same requests.
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                batches.append(more)
            try:
                self._publish(batches)
            finally:
                with self._idle:
                    self._pending -= len(batches)
                    self._idle.notify_all()

    def _publish(self, batches: list[EmfBatch]) -> None:
        by_place: dict[str, list[MetricDatum]] = {}
        for batch in batches:
            for record in batch.records:
                try:
                    by_place.setdefault(batch.where, []).extend(metric_data(record))
                except EmfFormatError as err:
                    _failed(batch.function, batch.where, None, 0, f"malformed EMF record: {err}")
        for where, data in by_place.items():
            functions = sorted({b.function for b in batches if b.where == where})
            for request in put_metric_data_requests(data):
                try:
                    self._client(where).put_metric_data(**request)
                except Exception as err:  # publishing is best effort: the invocation's outcome stands regardless
                    _failed(",".join(functions), where, request["Namespace"], len(request["MetricData"]), repr(err))

    def _client(self, where: str) -> Any:
        if where not in self._clients:
            self._clients[where] = self._client_for(where)
        return self._clients[where]


def _failed(function: str, where: str, namespace: str | None, count: int, error: str) -> None:
    log.warning(
        {
            "event": "emf_publish_failed",
            "function": function,
            "where": where,
            "namespace": namespace,
            "metric_data": count,
            "error": error,
        }
    )


__all__ = ["FLUSH_SECONDS", "EmfBatch", "MetricPublisher"]
