"""Streaming JSON: a bounded window of text, values parsed whole by the standard library's scanner.

The reader keeps at most about ``WINDOW`` characters of the document (plus one string, if a single string is
longer). A value that fits in the window is parsed whole by ``json``'s own scanner (C in CPython, so also in
Lambda, and the reference for what is valid JSON); a container longer than the window, or a mapping the
overlay merges into, is walked key by key instead, and its members again parsed whole when they fit.

The rewrite copies the document's own text and replaces only what changes: string tokens that contain a
source identifier (once decoded, so ``\\u0070rod`` counts), and values the overlay replaces. Numbers,
whitespace and key order are therefore kept exactly as prod wrote them, and the overlay is merged with
``deep_merge`` semantics while streaming: a key present in both merges (mappings recursively, anything else
replaced), a new key is appended at the end of its mapping; only the overlay itself is held in memory.
"""

from __future__ import annotations

import json
import json.encoder
import json.scanner
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn, cast

from pipeline_functions.exceptions import UnparseableDocumentError
from pipeline_functions.shared.streaming_text import OUTPUT_CHUNK, Leftovers, Splice, decoded, encoded

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from pipeline_functions.shared.rewrite import Rewriter

WINDOW = 256 * 1024  # characters; a value shorter than this is parsed whole by the C scanner
VALUE, OPEN, KEY, CLOSE = "value", "open", "key", "close"
Event = tuple[str, int, int, Any]  # (kind, start, end, value): offsets in characters of the whole document

_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Only ever applied to text the scanner validated, starting outside a string: then every match is a string.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NUMBER_TAIL = re.compile(r"[0-9eE.+-]*")
_TRUNCATION_SLACK = 16  # an error this close to the end of the window may just be the window's end
# json.dumps(text, ensure_ascii=False) without building an encoder per call, and the string decoder: both C in
# CPython (the standard library, so also in Lambda).
_quoted = json.encoder.encode_basestring
scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class JsonReader:
    """Events of one JSON document read through a bounded window of its text."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._pieces = decoded(chunks)
        self._buf = ""
        self._base = 0  # document offset of _buf[0]
        self._pos = 0  # index in _buf
        self._eof = False
        self._scan = json.scanner.make_scanner(cast("Any", json.JSONDecoder()))
        # Document offset from which text must be kept; a consumer copying text moves it along. By default the
        # text of an event is kept only until the next event is read.
        self.keep: int | None = None
        # Set by the consumer before the next value: walk it key by key if it is a mapping.
        self.descend_maps = False

    @property
    def length(self) -> int:
        """Characters read so far (the whole document once ``events`` is exhausted)."""
        return self._base + len(self._buf)

    def text(self, start: int, end: int) -> str:
        return self._buf[start - self._base : end - self._base]

    def events(self) -> Iterator[Event]:
        """``(VALUE, ..., parsed)``, or ``OPEN`` (``"{"``/``"["``), ``KEY`` (decoded) ... ``CLOSE`` for the
        containers that are walked. Raises UnparseableDocumentError for anything ``json.loads`` refuses."""
        closers: list[str] = []
        state = "value"
        while True:
            char = self._skip_whitespace()
            at = self._base + self._pos
            closing = closers and char == closers[-1] and state in ("after", "first key", "first item")
            if closing:
                self._pos += 1
                closers.pop()
                yield (CLOSE, at, at + 1, char)
                state = "after"
            elif state == "after":
                if not closers:
                    if char:
                        self._fail("Extra data", self._pos)
                    return
                if char != ",":
                    self._fail("Expecting ',' delimiter", self._pos)
                self._pos += 1
                state = "key" if closers[-1] == "}" else "value"
            elif state in ("key", "first key"):
                yield self._key(char, at)
                state = "value"
            else:
                event = self._value_event(char, at)
                yield event
                if event[0] == OPEN:
                    closers.append("}" if char == "{" else "]")
                    state = "first key" if char == "{" else "first item"
                else:
                    state = "after"

    def _key(self, char: str, at: int) -> Event:
        """The key at the position; moves past it and its colon."""
        if char != '"':
            self._fail("Expecting property name enclosed in double quotes", self._pos)
        key, end = self._string()
        event = (KEY, at, self._base + end, key)
        self._pos = end
        if self._skip_whitespace() != ":":
            self._fail("Expecting ':' delimiter", self._pos)
        self._pos += 1
        return event

    def _value_event(self, char: str, at: int) -> Event:
        """The value at the position, whole or (a container to walk) just opened; moves past it."""
        if not char:
            self._fail("Expecting value", self._pos)
        walk, self.descend_maps = char == "{" and self.descend_maps, False
        scanned = None if walk else self._value(char)
        if scanned is None:
            self._pos += 1
            return (OPEN, at, at + 1, char)
        value, end = scanned
        self._pos = end
        return (VALUE, at, self._base + end, value)

    def _value(self, char: str) -> tuple[Any, int] | None:
        """The value at the position parsed whole, with its end; None for a container longer than the window."""
        container = char in "{["
        if container:
            self._fill(WINDOW)
        while True:
            error: tuple[str, int] | None = None
            try:
                value, end = self._scan(self._buf, self._pos)
            except StopIteration as exc:
                error = ("Expecting value", exc.value)
            except json.JSONDecodeError as exc:
                error = (exc.msg, exc.pos)
            except RecursionError as exc:
                raise UnparseableDocumentError("invalid JSON: nested too deeply") from exc
            else:
                # A number touching the end of the window may go on in the next chunk ("12" + "34").
                number = isinstance(value, int | float) and not isinstance(value, bool)
                if self._eof or not number or not _NUMBER_TAIL.fullmatch(self._buf, end):
                    return value, end
            if self._eof:
                assert error is not None  # a complete document was returned above
                self._fail(*error)
            if error is not None and not (
                error[0].startswith("Unterminated string") or error[1] >= len(self._buf) - _TRUNCATION_SLACK
            ):
                self._fail(*error)
            have = len(self._buf) - self._pos
            if container and have >= WINDOW:
                return None
            self._fill(max(WINDOW, 2 * have))

    def _string(self) -> tuple[str, int]:
        """The key string at the position (decoded) and the index after it; waits for its end if need be."""
        while True:
            try:
                return scanstring(self._buf, self._pos + 1, True)
            except json.JSONDecodeError as exc:
                truncated = exc.msg.startswith("Unterminated string") or exc.pos >= len(self._buf) - _TRUNCATION_SLACK
                if self._eof or not truncated:
                    self._fail(exc.msg, exc.pos)
            self._fill(max(WINDOW, 2 * (len(self._buf) - self._pos)))

    def _skip_whitespace(self) -> str:
        """The next character that is not whitespace, or "" at the end of the document."""
        while True:
            match = _WHITESPACE.match(self._buf, self._pos)
            assert match is not None  # the pattern matches the empty string
            self._pos = match.end()
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if not self._fill(1):
                return ""

    def _fill(self, need: int) -> bool:
        """Read until ``need`` characters follow the position; False if the document ends first."""
        have = len(self._buf) - self._pos
        if have >= need or self._eof:
            return have >= need
        keep = self._pos if self.keep is None else min(self._pos, self.keep - self._base)
        parts = [self._buf[keep:]]
        for piece in self._pieces:
            parts.append(piece)
            have += len(piece)
            if have >= need:
                break
        else:
            self._eof = True
        self._buf = "".join(parts)
        self._base += keep
        self._pos -= keep
        return have >= need

    def _fail(self, message: str, index: int) -> NoReturn:
        raise UnparseableDocumentError(f"invalid JSON: {message} at character {self._base + index}")


class _Strings:
    """Rewrites the strings (values and keys) inside raw JSON text; records leftovers."""

    def __init__(self, rewriter: Rewriter, leftovers: Leftovers | None) -> None:
        self._rewriter = rewriter
        self._leftovers = leftovers
        self._sources = tuple(source for source, _ in rewriter.replacements)
        longest_first = sorted(self._sources, key=len, reverse=True)
        self._any_source = re.compile("|".join(map(re.escape, longest_first))) if self._sources else None
        # A source with a quote could straddle two tokens; such sources always take the token-by-token path.
        self._plain_ok = self._any_source is not None and all('"' not in source for source in self._sources)

    def text(self, value: str) -> str | None:
        """The rewritten decoded string, or None when it names no source identifier (so it stays as is)."""
        if not any(source in value for source in self._sources):
            return None
        return self._rewritten(value)

    def _rewritten(self, value: str) -> str:
        rewritten = self._rewriter.text(value)
        if self._leftovers is not None:
            self._leftovers.check(rewritten)
        return rewritten

    def raw(self, raw: str) -> str | None:
        """Valid JSON value text with every string token rewritten; None when nothing changes."""
        if "\\" in raw:
            return self._tokens(raw)
        # Without an escape, a decoded string can only name a source that the raw text names too.
        if self._any_source is None or not any(source in raw for source in self._sources):
            return None
        return self._plain(raw) if self._plain_ok else self._tokens(raw)

    def _plain(self, raw: str) -> str | None:
        """Rewrite text without escapes, visiting only the occurrences of a source.

        With no escaped quote, an occurrence is inside a string exactly when an odd number of quotes precede
        it, and that string runs from the previous quote to the next one; an occurrence outside a string (in
        a number: an account id as a source) is left alone, as ``Rewriter.value`` leaves numbers alone.
        """
        assert self._any_source is not None
        pieces: list[str] = []
        copied = counted = 0
        inside = False
        search = self._any_source.search
        while (match := search(raw, counted)) is not None:
            hit = match.start()
            inside ^= bool(raw.count('"', counted, hit) & 1)
            if not inside:
                counted = hit + 1
                inside ^= raw[hit] == '"'
                continue
            opening = raw.rfind('"', 0, hit)
            closing = raw.find('"', hit)
            pieces += (raw[copied:opening], _quoted(self._rewritten(raw[opening + 1 : closing])))
            copied = counted = closing + 1
            inside = False
        if not pieces:
            return None
        pieces.append(raw[copied:])
        return "".join(pieces)

    def _tokens(self, raw: str) -> str | None:
        """Rewrite every string token, decoding its escapes."""
        changed = False

        def token(match: re.Match[str]) -> str:
            nonlocal changed
            quoted = match.group()
            value = scanstring(quoted, 1, True)[0] if "\\" in quoted else quoted[1:-1]
            rewritten = self.text(value)
            if rewritten is None:
                return quoted
            changed = True
            return _quoted(rewritten)

        result = _STRING.sub(token, raw)
        return result if changed else None


@dataclass
class _Merge:
    """An open mapping the overlay merges into."""

    overlay: Mapping[str, Any]
    open_end: int
    last_end: int = -1  # end of the last value written in the mapping; -1 while it has none
    seen: set[str] = field(default_factory=set)


_KEEP = object()  # the next value is rewritten as usual


def rewritten_json(chunks: Iterable[bytes], rewriter: Rewriter, leftovers: Leftovers | None) -> Iterator[str]:
    """The text of the rewritten document (see the module docstring); leftovers are recorded, not raised."""
    reader = JsonReader(chunks)
    out = Splice(reader)
    strings = _Strings(rewriter, leftovers)
    frames: list[_Merge | None] = []  # per open container: the overlay merged into it, if any
    # The top level's pending overlay merges only into a mapping; a nested one replaces what is not a mapping.
    pending: Any = dict(rewriter.overlay) if rewriter.overlay else _KEEP
    reader.descend_maps = pending is not _KEEP
    skipping = 0  # depth inside a container the overlay replaces
    for kind, start, end, value in reader.events():
        if skipping:
            skipping += 1 if kind == OPEN else -1 if kind == CLOSE else 0
            out.skip_to(end)
            if not skipping:
                _value_done(frames, end)
            continue
        if kind == KEY:
            rewritten = strings.text(value)
            if rewritten is not None:
                out.replace(start, end, _quoted(rewritten))
            pending = _pending_for(frames[-1], value if rewritten is None else rewritten)
            reader.descend_maps = isinstance(pending, dict)
        elif kind == CLOSE:
            frame = frames.pop()
            if frame is not None:
                _append_new_keys(out, frame)
            _value_done(frames, end)
        elif kind == OPEN and value == "{" and isinstance(pending, dict):
            if not frames and leftovers is not None:
                leftovers.add(rewriter.leftovers(pending))  # every overlay string ends up in the replica
            frames.append(_Merge(pending, end))
        elif pending is not _KEEP and frames:
            # deep_merge replaces whatever is not a mapping on both sides with (a copy of) the overlay's value
            out.replace(start, end, json.dumps(pending, ensure_ascii=False))
            if kind == OPEN:
                skipping = 1
            else:
                _value_done(frames, end)
        elif kind == OPEN:
            frames.append(None)
        else:
            rewritten_raw = strings.raw(reader.text(start, end))
            if rewritten_raw is not None:
                out.replace(start, end, rewritten_raw)
            _value_done(frames, end)
        if kind != KEY:
            pending = _KEEP
        out.copy_to(end)
        yield from out.drain(least=OUTPUT_CHUNK)
    out.copy_to(reader.length)
    yield from out.drain()
    if leftovers is not None:
        leftovers.raise_if_any()


def _pending_for(frame: _Merge | None, key: str) -> Any:
    if frame is None or key not in frame.overlay:
        return _KEEP
    frame.seen.add(key)
    return frame.overlay[key]


def _value_done(frames: list[_Merge | None], end: int) -> None:
    if frames and frames[-1] is not None:
        frames[-1].last_end = end


def _append_new_keys(out: Splice, frame: _Merge) -> None:
    """Overlay keys the mapping lacks go at its end, after its last value (deep_merge appends them)."""
    new = [(key, value) for key, value in frame.overlay.items() if key not in frame.seen]
    if not new:
        return
    entries = ", ".join(
        f"{json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}" for key, value in new
    )
    if frame.last_end < 0:
        out.replace(frame.open_end, frame.open_end, entries)
    else:
        out.replace(frame.last_end, frame.last_end, ", " + entries)


def rewrite_json(chunks: Iterable[bytes], rewriter: Rewriter, what: str) -> Iterator[bytes]:
    return encoded(rewritten_json(chunks, rewriter, Leftovers(rewriter, what)))


# Value-level events, shared with YAML for comparing documents: (kind, value).
MAP, SEQ, END, SCALAR = "map", "seq", "end", "scalar"


def json_events(chunks: Iterable[bytes]) -> Iterator[tuple[str, Any]]:
    """The document as MAP/KEY/SEQ/SCALAR/END events, whatever parts the reader parsed whole."""
    for kind, _, _, value in JsonReader(chunks).events():
        if kind == VALUE:
            yield from flatten(value)
        elif kind == OPEN:
            yield (MAP if value == "{" else SEQ, None)
        elif kind == KEY:
            yield (KEY, value)
        else:
            yield (END, None)


def flatten(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        yield (MAP, None)
        for key, item in value.items():
            yield (KEY, key)
            yield from flatten(item)
        yield (END, None)
    elif isinstance(value, list):
        yield (SEQ, None)
        for item in value:
            yield from flatten(item)
        yield (END, None)
    else:
        yield (SCALAR, value)


def json_identifiers(chunks: Iterable[bytes], identifiers: list[str]) -> set[str]:
    """Identifiers named by a decoded string or key of the document."""
    found: set[str] = set()
    reader = JsonReader(chunks)
    for kind, start, end, value in reader.events():
        remaining = [name for name in identifiers if name not in found]
        if not remaining:
            continue  # keep reading: the document must still be valid JSON
        if kind == KEY:
            found.update(name for name in remaining if name in value)
        elif kind == VALUE:
            raw = reader.text(start, end)
            if "\\" in raw or any(name in raw for name in remaining):
                found.update(name for name in remaining if _names(value, name))
    return found


def _names(value: Any, name: str) -> bool:
    if isinstance(value, str):
        return name in value
    if isinstance(value, dict):
        return any(name in key or _names(item, name) for key, item in value.items())
    if isinstance(value, list):
        return any(_names(item, name) for item in value)
    return False
