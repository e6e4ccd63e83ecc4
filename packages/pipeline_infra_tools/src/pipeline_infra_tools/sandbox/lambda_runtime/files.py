"""Where the runtime keeps its state, under the sandbox's state directory."""

from __future__ import annotations

PID_FILE = "runtime/runtime.pid"
LOG_FILE = "runtime/runtime.log"
# What the runtime keeps about one emulator's queues and streams: gone with that emulator.
INFLIGHT_FILE = "runtime/inflight.json"
PIPE_POSITIONS_FILE = "runtime/pipe-positions.json"
RUNTIME_STATE_FILES = (INFLIGHT_FILE, PIPE_POSITIONS_FILE)
