"""Streaming rewrite of plain-text configuration, and the text-level helpers the JSON and YAML streams share.

Plain text (``.ini``, ``.properties``, ``.env``, ``.toml``, ...) gets exactly ``Rewriter.text``: the ordered
``(source, target)`` replacements applied one after the other. Each replacement is a stage of a pipeline that
holds back only the few characters that could begin an occurrence split across two chunks, so memory is
bounded by the chunk size and the identifiers' length, whatever the document's size.
"""

from __future__ import annotations

import codecs
from typing import TYPE_CHECKING, AnyStr, Generic, Protocol

from pipeline_functions.exceptions import RewriteError, UnparseableDocumentError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from pipeline_functions.shared.rewrite import Rewriter

OUTPUT_CHUNK = 64 * 1024  # characters gathered before a chunk is handed to the caller
_SHOWN = 40  # characters of each side shown where two texts differ
_CUT_ATTEMPTS = 4  # a source that overlaps itself ("aa" in "aaaa...") may need more: then it is scanned exactly


def decoded(chunks: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 text of ``chunks``, decoded incrementally (a character may be split between two chunks)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    try:
        for chunk in chunks:
            text = decoder.decode(chunk)
            offset += len(chunk)
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise UnparseableDocumentError(f"not UTF-8 text: {exc.reason} within the first {offset} bytes") from exc
    if tail:
        yield tail


def encoded(pieces: Iterable[str]) -> Iterator[bytes]:
    """UTF-8 chunks of about OUTPUT_CHUNK characters: callers upload parts, not one tiny write per token.

    ``backslashreplace`` only ever applies to a lone surrogate, which can only come from a ``\\ud800`` escape
    inside a JSON or YAML double-quoted string; written back as the same escape it decodes to the same value.
    """
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= OUTPUT_CHUNK:
            yield "".join(batch).encode("utf-8", "backslashreplace")
            batch, size = [], 0
    if batch:
        yield "".join(batch).encode("utf-8", "backslashreplace")


class Leftovers:
    """Source identifiers still present after rewriting; raised together as one RewriteError at the end."""

    def __init__(self, rewriter: Rewriter, what: str) -> None:
        self.sources = tuple(source for source, _ in rewriter.replacements)
        self.what = what
        self.found: set[str] = set()

    def check(self, text: str) -> None:
        for source in self.sources:
            if source in text:
                self.found.add(source)

    def add(self, identifiers: Iterable[str]) -> None:
        self.found.update(identifiers)

    def raise_if_any(self) -> None:
        if self.found:
            raise RewriteError(f"{self.what} still names source identifiers {sorted(self.found)} after rewriting")


class Finder(Generic[AnyStr]):
    """Which needles occur in a stream of str or bytes; an occurrence split between pieces is still found."""

    def __init__(self, needles: Sequence[AnyStr], empty: AnyStr) -> None:
        self._needles: list[AnyStr] = list(needles)
        self._tail: AnyStr = empty
        self._keep = max((len(needle) for needle in needles), default=1) - 1
        self.found: set[AnyStr] = set()

    def feed(self, piece: AnyStr) -> None:
        window = self._tail + piece
        hits = [needle for needle in self._needles if needle in window]
        if hits:
            self.found.update(hits)
            self._needles = [needle for needle in self._needles if needle not in self.found]
        self._tail = window[-self._keep :] if self._keep else window[:0]

    @property
    def done(self) -> bool:
        return not self._needles


class TextWindow(Protocol):
    """What Splice needs of a reader: the text between two document offsets, and where text may be dropped."""

    keep: int | None

    def text(self, start: int, end: int) -> str: ...


class Splice:
    """The document's own text, copied from its reader, with some spans replaced by other text."""

    def __init__(self, reader: TextWindow) -> None:
        self._reader = reader
        self._at = 0
        reader.keep = 0
        self._parts: list[str] = []
        self._size = 0

    def copy_to(self, offset: int) -> None:
        if offset > self._at:
            self._add(self._reader.text(self._at, offset))
            self._at = self._reader.keep = offset

    def replace(self, start: int, end: int, text: str) -> None:
        self.copy_to(start)
        self._add(text)
        self.skip_to(end)

    def skip_to(self, offset: int) -> None:
        if offset > self._at:
            self._at = self._reader.keep = offset

    def _add(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)

    def drain(self, least: int = 1) -> list[str]:
        """The text gathered so far, once it is at least ``least`` characters (few large pieces, not tokens)."""
        if not self._parts or self._size < least:
            return []
        text = "".join(self._parts)
        self._parts.clear()
        self._size = 0
        return [text]


class _Replace:
    """One ``str.replace(source, target)`` over a stream of text pieces."""

    def __init__(self, source: str, target: str) -> None:
        self._source, self._target = source, target
        self._held = ""

    def feed(self, text: str) -> str:
        """Replace what can be decided now; hold back text that may begin an occurrence."""
        buf = self._held + text
        size = len(self._source)
        cut = len(buf) - size + 1
        # At a cut no occurrence straddles, replacing each side separately equals replacing the whole, and
        # the part after the cut starts where str.replace's left-to-right scan would be free again.
        for _ in range(_CUT_ATTEMPTS):
            if cut <= 0:
                self._held = buf
                return ""
            hit = buf.find(self._source, max(0, cut - size + 1), cut + size - 1)
            if hit < 0:
                self._held = buf[cut:]
                return buf[:cut].replace(self._source, self._target)
            cut = hit
        return self._scan(buf)

    def _scan(self, buf: str) -> str:
        """Exact left-to-right scan, used when the source overlaps itself so often that no cut is found."""
        size = len(self._source)
        out: list[str] = []
        pos = 0
        while (hit := buf.find(self._source, pos)) >= 0:
            out += (buf[pos:hit], self._target)
            pos = hit + size
        keep = max(pos, len(buf) - size + 1)
        out.append(buf[pos:keep])
        self._held = buf[keep:]
        return "".join(out)

    def finish(self, text: str) -> str:
        """Feed the last text and release everything held back."""
        done = self.feed(text) + self._held.replace(self._source, self._target)
        self._held = ""
        return done


def rewritten_text(chunks: Iterable[bytes], rewriter: Rewriter, leftovers: Leftovers | None) -> Iterator[str]:
    """The text of ``chunks`` with ``rewriter``'s replacements applied in order, as ``Rewriter.text`` would."""
    if any(not source for source, _ in rewriter.replacements):
        raise RewriteError("an empty source identifier would match everywhere; fix the replacements")
    stages = [_Replace(source, target) for source, target in rewriter.replacements]
    finder = Finder(leftovers.sources, "") if leftovers is not None else None
    for text in decoded(chunks):
        for stage in stages:
            text = stage.feed(text)  # noqa: PLW2901 - each stage feeds the next
        if text:
            if finder is not None:
                finder.feed(text)
            yield text
    piece = ""
    for stage in stages:
        piece = stage.finish(piece)
    if finder is not None:
        finder.feed(piece)
    if piece:
        yield piece
    if finder is not None and leftovers is not None:
        leftovers.add(finder.found)
        leftovers.raise_if_any()


def rewrite_text(chunks: Iterable[bytes], rewriter: Rewriter, what: str) -> Iterator[bytes]:
    return encoded(rewritten_text(chunks, rewriter, Leftovers(rewriter, what)))


def first_text_difference(expected: Iterable[str], actual: Iterable[str]) -> str | None:
    """Where two streams of text first differ, as ``line L, column C: ...``; None when they are equal."""
    want, have = iter(expected), iter(actual)
    left = right = ""
    line, column = 1, 1
    while True:
        if not left:
            left = next(want, "")
        if not right:
            right = next(have, "")
        if not left or not right:
            if left == right:
                return None
            where = f"line {line}, column {column}"
            if left:
                return f"replica ends at {where}; expected {_short(left)}"
            return f"replica has extra text at {where}: {_short(right)}"
        size = min(len(left), len(right))
        if left[:size] != right[:size]:
            index = next(i for i in range(size) if left[i] != right[i])
            line, column = _advance(left[:index], line, column)
            shown = f"replica has {_short(_more(right[index:], have))}, expected {_short(_more(left[index:], want))}"
            return f"line {line}, column {column}: {shown}"
        line, column = _advance(left[:size], line, column)
        left, right = left[size:], right[size:]


def _more(text: str, pieces: Iterator[str]) -> str:
    """Enough of a stream to show where it differs."""
    while len(text) <= _SHOWN and (piece := next(pieces, "")):
        text += piece
    return text


def _advance(text: str, line: int, column: int) -> tuple[int, int]:
    breaks = text.count("\n")
    if not breaks:
        return line, column + len(text)
    return line + breaks, len(text) - text.rfind("\n")


def _short(text: str) -> str:
    return repr(text[:_SHOWN] + "..." if len(text) > _SHOWN else text)
