"""Streaming rewrite, comparison and identifier search of JSON, YAML and plain-text configuration objects.

Memory does not grow with the document: it is bounded by the chunk size, the parser's window (JSON: 256 Ki
characters; YAML: what PyYAML reads ahead), one string scalar, and the overlay (for YAML also the subtrees
under top-level overlay keys, which are materialised to merge them, and anchored nodes). Only pure-Python code
runs (plus the standard library's C ``json`` scanner), as in the Lambda artifact. See ``streaming_json``,
``streaming_yaml`` and ``streaming_text`` for how each format is handled.

Errors are raised while iterating, so a caller streaming the output into an upload aborts it then:
UnparseableDocumentError (not UTF-8, invalid JSON/YAML, more than one YAML document, what safe_load refuses)
and RewriteError (a source identifier is still named by a decoded string or key after rewriting).
"""

from __future__ import annotations

from itertools import zip_longest
from typing import TYPE_CHECKING, Any

from pipeline_functions.exceptions import UnparseableDocumentError
from pipeline_functions.shared.streaming_json import json_events, json_identifiers, rewrite_json, rewritten_json
from pipeline_functions.shared.streaming_text import (
    Finder,
    Leftovers,
    decoded,
    encoded,
    first_text_difference,
    rewrite_text,
    rewritten_text,
)
from pipeline_functions.shared.streaming_yaml import rewrite_yaml, rewritten_yaml, yaml_events, yaml_identifiers

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from pipeline_functions.shared.rewrite import Rewriter

FORMATS = ("json", "yaml", "text")
_REWRITE: dict[str, Callable[[Iterable[bytes], Rewriter, str], Iterator[bytes]]] = {
    "json": rewrite_json,
    "yaml": rewrite_yaml,
    "text": rewrite_text,
}
_EVENTS: dict[str, Callable[[Iterable[bytes]], Iterator[tuple[str, Any]]]] = {"json": json_events, "yaml": yaml_events}


def rewrite_chunks(chunks: Iterable[bytes], fmt: str, rewriter: Rewriter, what: str) -> Iterator[bytes]:
    """The rewritten document, chunk by chunk; ``what`` names the object in a RewriteError.

    JSON/YAML: parsing the output gives ``rewriter.document(parse_document(input))``. Text: the output is
    ``rewriter.text(input)``. Either way the replacements are checked for leftovers.
    """
    return _REWRITE[_checked(fmt)](chunks, rewriter, what)


def first_stream_difference(
    prod_chunks: Iterable[bytes], replica_chunks: Iterable[bytes], fmt: str, rewriter: Rewriter
) -> str | None:
    """How the replica first differs from prod rewritten for its environment; None when they are equal.

    JSON/YAML compare parsed values event by event, so mapping keys are compared in order (ignoring their
    order would mean holding a whole mapping); text compares the text. A replica that does not parse is a
    difference (``replica is not valid json: ...``). Prod is always read to the end, so that a prod document
    the replicator would refuse raises as it does there, even after a difference: UnparseableDocumentError,
    or RewriteError when its rewrite still names a source identifier.
    """
    fmt = _checked(fmt)
    leftovers = Leftovers(rewriter, "prod rewritten for the replica")
    if fmt == "text":
        expected: Iterator[Any] = rewritten_text(prod_chunks, rewriter, leftovers)
        actual: Iterator[Any] = _replica(decoded(replica_chunks))
        compare: Callable[[Iterator[Any], Iterator[Any]], str | None] = first_text_difference
    else:
        rewritten = rewritten_json if fmt == "json" else rewritten_yaml
        expected = _EVENTS[fmt](encoded(rewritten(prod_chunks, rewriter, leftovers)))
        actual = _replica(_EVENTS[fmt](replica_chunks))
        compare = first_event_difference
    try:
        found = compare(expected, actual)
    except _ReplicaUnparseable as exc:
        found = f"replica is not valid {fmt}: {exc}"
    for _ in expected:
        pass
    return found


def find_identifiers(chunks: Iterable[bytes], fmt: str | None, identifiers: Sequence[str]) -> list[str]:
    """The identifiers the content names, sorted.

    JSON/YAML: in decoded strings and keys (a raw text scan if the content does not parse); text: in the text;
    None (binary): in the raw bytes, identifiers encoded as UTF-8.
    """
    names = list(dict.fromkeys(identifiers))
    raw = Finder([name.encode("utf-8") for name in names], b"")
    teed = _tee(chunks, raw.feed)
    if fmt in ("json", "yaml"):
        search = json_identifiers if fmt == "json" else yaml_identifiers
        try:
            return sorted(search(teed, names))
        except UnparseableDocumentError:
            pass  # the raw scan has seen what the parser read; it reads the rest below
    elif fmt == "text":
        text = Finder(names, "")
        try:
            for piece in decoded(teed):
                text.feed(piece)
            return sorted(text.found)
        except UnparseableDocumentError:
            pass  # not UTF-8 after all: the raw bytes tell
    elif fmt is not None:
        _checked(fmt)
    for _ in teed:
        if raw.done:
            break
    return sorted(name.decode("utf-8") for name in raw.found)


def first_event_difference(expected: Iterable[tuple[str, Any]], actual: Iterable[tuple[str, Any]]) -> str | None:
    """The first place two MAP/SEQ/KEY/SCALAR/END event streams differ, with a ``$.a.b[3]`` path."""
    path: list[Any] = []  # per open container: the current key (mapping) or index (sequence)
    kinds: list[str] = []
    for want, have in zip_longest(expected, actual, fillvalue=("end", None)):
        if kinds and kinds[-1] == "seq" and want[0] != "end":
            path[-1] += 1
        if want != have:  # Python equality, as drift_checker.compare.first_difference: 1 == 1.0
            return _describe(path, kinds, want, have)
        if want[0] in ("map", "seq"):
            kinds.append(want[0])
            path.append(None if want[0] == "map" else -1)
        elif want[0] == "end" and kinds:
            kinds.pop()
            path.pop()
        elif want[0] == "key":
            path[-1] = want[1]
    return None


def _describe(path: list[Any], kinds: list[str], want: tuple[str, Any], have: tuple[str, Any]) -> str:
    where = _path(path, kinds)
    if want[0] == "key" and have[0] == "key":
        return (
            f"{where}.{want[1]} missing in replica (it has {where}.{have[1]} in its place; keys are compared in order)"
        )
    if want[0] == "key":
        return f"{where}.{want[1]} missing in replica"
    if have[0] == "key":
        return f"{where}.{have[1]} only in replica"
    if kinds and kinds[-1] == "seq" and want[0] == "end":
        return f"{where}[{path[-1] + 1}] only in replica (more than {path[-1] + 1} elements)"
    if kinds and kinds[-1] == "seq" and have[0] == "end":
        return f"{where}[{path[-1]}] missing in replica (it has {path[-1]} elements)"
    return f"{_path(path, kinds, leaf=True)} is {_shown(have)}, expected {_shown(want)}"


def _path(path: list[Any], kinds: list[str], leaf: bool = False) -> str:
    """``$.a.b[3]``; without ``leaf``, the container's own path (its last key or index left out)."""
    parts = ["$"]
    for index, (kind, step) in enumerate(zip(kinds, path, strict=True)):
        if not leaf and index == len(kinds) - 1:
            break
        parts.append(f"[{step}]" if kind == "seq" else f".{step}")
    return "".join(parts)


def _shown(event: tuple[str, Any]) -> str:
    kind, value = event
    if kind in ("map", "seq"):
        return "a mapping" if kind == "map" else "a list"
    if kind == "end":
        return "absent"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _ReplicaUnparseable(Exception):
    """The replica (not prod) did not parse: a difference, not an error."""


def _replica(items: Iterator[Any]) -> Iterator[Any]:
    try:
        yield from items
    except UnparseableDocumentError as exc:
        raise _ReplicaUnparseable(str(exc)) from exc


def _tee(chunks: Iterable[bytes], see: Callable[[bytes], Any]) -> Iterator[bytes]:
    for chunk in chunks:
        see(chunk)
        yield chunk


def _checked(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown content format {fmt!r}; expected one of {FORMATS}")
    return fmt
