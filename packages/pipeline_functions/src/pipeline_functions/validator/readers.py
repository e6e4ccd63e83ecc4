"""Streaming readers: records come out one at a time while the file is read in chunks, so memory stays
bounded by the largest single record rather than the file size. A SHA-256 and byte count are kept on the way.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
from typing import TYPE_CHECKING, Any

from pipeline_functions.validator.exceptions import InvalidFileError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

CHUNK_BYTES = 256 * 1024
FORMATS = {".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson", ".csv": "csv"}
_WHITESPACE = " \t\r\n"


def file_format(key: str) -> str | None:
    lowered = key.lower()
    for suffix, fmt in FORMATS.items():
        if lowered.endswith(suffix):
            return fmt
    return None


class TextStream:
    """Decodes UTF-8 chunks incrementally, hashing and counting the raw bytes as they pass."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.first_chunk = True

    def texts(self) -> Iterator[str]:
        for chunk in self._chunks:
            if not chunk:
                continue
            if self.first_chunk and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8) :]  # noqa: PLW2901 - a UTF-8 BOM is not content
            self.first_chunk = False
            offset = self.size
            self.sha256.update(chunk)
            self.size += len(chunk)
            try:
                text = self._decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise InvalidFileError(f"file is not UTF-8 text (invalid byte at offset {offset + exc.start})") from exc
            if text:
                yield text
        try:
            tail = self._decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            raise InvalidFileError("file is not UTF-8 text (truncated multi-byte sequence at the end)") from exc
        if tail:
            yield tail

    def lines(self) -> Iterator[str]:
        pending = ""
        for text in self.texts():
            pending += text
            *complete, pending = pending.split("\n")
            yield from (line + "\n" for line in complete)
        if pending:
            yield pending


def ndjson_records(stream: TextStream) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(stream.lines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidFileError(f"line {number} is not valid JSON: {exc.msg}") from exc


def json_records(stream: TextStream) -> Iterator[tuple[int, Any]]:
    """A top-level array yields its elements one by one; any other document is one record."""
    reader = _JsonArrayReader(stream.texts())
    reader.skip_whitespace()
    if reader.at_end():
        return
    if reader.peek() != "[":
        document = reader.rest()
        try:
            yield 1, json.loads(document)
        except json.JSONDecodeError as exc:
            raise InvalidFileError(f"file is not valid JSON: {exc.msg} at offset {exc.pos}") from exc
        return
    reader.take()
    index = 0
    while True:
        reader.skip_whitespace()
        if reader.at_end():
            raise InvalidFileError("file is not valid JSON: the top-level array is not closed")
        if index and reader.peek() == ",":
            reader.take()
            reader.skip_whitespace()
        elif reader.peek() == "]":
            reader.take()
            reader.skip_whitespace()
            if not reader.at_end():
                raise InvalidFileError("file is not valid JSON: data after the top-level array")
            return
        elif index:
            raise InvalidFileError(f"file is not valid JSON: expected ',' or ']' after array element {index}")
        index += 1
        yield index, reader.value(index)


class _JsonArrayReader:
    """A cursor over decoded text; the buffer is compacted on refill so each element is copied once."""

    def __init__(self, texts: Iterator[str]) -> None:
        self._texts = texts
        self._buffer = ""
        self._pos = 0
        self._decoder = json.JSONDecoder()

    def _fill(self) -> bool:
        chunk = next(self._texts, None)
        if chunk is None:
            return False
        self._buffer = self._buffer[self._pos :] + chunk
        self._pos = 0
        return True

    def skip_whitespace(self) -> None:
        while True:
            while self._pos < len(self._buffer) and self._buffer[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(self._buffer) or not self._fill():
                return

    def at_end(self) -> bool:
        return self._pos >= len(self._buffer) and not self._fill()

    def peek(self) -> str:
        return self._buffer[self._pos]

    def take(self) -> None:
        self._pos += 1

    def rest(self) -> str:
        while self._fill():
            pass
        return self._buffer[self._pos :]

    def value(self, index: int) -> Any:
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                # An element cut by a chunk boundary: read more; only at the end of the file is it invalid.
                if self._fill():
                    continue
                raise InvalidFileError(f"array element {index} is not valid JSON: {exc.msg}") from exc
            if end == len(self._buffer) and self._fill():
                continue  # a number such as 12 may go on as 123 in the next chunk
            self._pos = end
            return value


def csv_records(stream: TextStream, schema: dict[str, Any]) -> Iterator[tuple[int, Any]]:
    """Rows as objects; cells are converted to the schema's declared type, empty cells are left out."""
    types = {
        name: (spec.get("type") if isinstance(spec, dict) else None)
        for name, spec in (schema.get("properties") or {}).items()
    }
    reader = csv.DictReader(stream.lines())
    for number, row in enumerate(reader, start=2):  # line 1 is the header
        if None in row:
            raise InvalidFileError(f"CSV line {number} has more cells than the header")
        yield number, {name: _convert(value, types.get(name)) for name, value in row.items() if value not in ("", None)}


def _convert(value: str, declared: Any) -> Any:
    kinds = declared if isinstance(declared, list) else [declared]
    for kind in kinds:
        try:
            if kind == "integer":
                return int(value)
            if kind == "number":
                return float(value)
        except ValueError:
            continue
        if kind == "boolean" and value.lower() in ("true", "false"):
            return value.lower() == "true"
    return value
