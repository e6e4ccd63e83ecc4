"""The program server's wire format, both ways: one JSON header line, then the header's `size` bytes.

  request   tool -> server -> worker: {"id", "request": {a programs.child request}, "env": {...},
            "project_dir", "library", "timeout", "size": 0}
  response  worker -> server -> tool: {"id", "exit": int | null, "timed_out": bool, "output": the tail of what
            the program printed, "size": n}, then n bytes: the program's result JSON (none if it timed out);
            or {"id", "error": why it could not be run, "size": 0}

The server passes messages on as the bytes it received, without decoding the results.
"""

from __future__ import annotations

import json
from typing import IO, Any

Header = dict[str, Any]


def encode(header: Header, payload: bytes = b"") -> bytes:
    return json.dumps({**header, "size": len(payload)}).encode() + b"\n" + payload


def write_message(stream: IO[bytes], header: Header, payload: bytes = b"") -> None:
    stream.write(encode(header, payload))
    stream.flush()


def read_message(stream: IO[bytes]) -> tuple[Header, bytes] | None:
    """The next message from a blocking stream, or None at its end."""
    line = stream.readline()
    if not line:
        return None
    header: Header = json.loads(line)
    payload = stream.read(header["size"]) if header["size"] else b""
    return header, payload


def take_messages(buffer: bytearray) -> list[tuple[Header, bytes]]:
    """Every complete message at the start of `buffer` (read from a non-blocking pipe), removed from it, each
    with its raw bytes (header line and payload) to pass on unchanged."""
    messages: list[tuple[Header, bytes]] = []
    while (end := buffer.find(b"\n")) >= 0:
        header: Header = json.loads(bytes(buffer[:end]))
        size = end + 1 + int(header["size"])
        if len(buffer) < size:
            break
        messages.append((header, bytes(buffer[:size])))
        del buffer[:size]
    return messages
