"""The sandbox-only queue on which the emulator announces new DynamoDB stream records to the local runtime."""

from __future__ import annotations

STREAM_DOORBELL_QUEUE = "sandbox-stream-doorbell"
