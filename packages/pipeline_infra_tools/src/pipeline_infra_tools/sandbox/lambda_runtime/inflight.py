"""Events taken off a queue and not yet finished, kept on disk so a restarted runtime replays them at once.

A queue hides a received message for its visibility timeout; a runtime that stops mid-delivery would leave the
event hidden for that long (for an asynchronous invocation, every retry's worth of the function's timeout).
Each received message is recorded here with the attempts made on it so far; it leaves the record only when its
delivery finished (the function succeeded, or its failure went where AWS sends it). On start the runtime makes
every recorded message visible again, and a message received again continues its retries where they stopped.
"""

from __future__ import annotations

import json
import os
import threading
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


class InFlight:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}
        if path.is_file():
            try:
                self._entries = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                self._entries = {}

    def begin(self, key: str, queue_url: str, receipt: str) -> int:
        """Record a received message; the attempts already made on it (0 for a first delivery)."""
        with self._lock:
            entry = self._entries.setdefault(key, {"attempts": 0})
            entry.update(queue_url=queue_url, receipt=receipt)
            self._save()
            return int(entry["attempts"])

    def attempted(self, key: str) -> None:
        with self._lock:
            if key in self._entries:
                self._entries[key]["attempts"] = int(self._entries[key]["attempts"]) + 1
                self._save()

    def finish(self, key: str) -> None:
        with self._lock:
            if self._entries.pop(key, None) is not None:
                self._save()

    def release_all(self, sqs_for: Callable[[str], Any]) -> int:
        """Make every recorded message visible again now (`sqs_for(queue_url)` gives the queue's client); how
        many were released."""
        with self._lock:
            entries = list(self._entries.items())
        released, gone = 0, []
        for key, entry in entries:
            try:
                sqs_for(entry["queue_url"]).change_message_visibility(
                    QueueUrl=entry["queue_url"], ReceiptHandle=entry["receipt"], VisibilityTimeout=0
                )
                released += 1
            except ClientError:
                gone.append(key)  # deleted, or its queue is gone: nothing left to replay
        for key in gone:
            self.finish(key)
        return released

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._entries), encoding="utf-8")
        os.replace(temporary, self.path)
