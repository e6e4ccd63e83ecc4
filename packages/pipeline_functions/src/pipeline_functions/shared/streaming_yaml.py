"""Streaming YAML: PyYAML's pure-Python parser (what the Lambda artifact ships), read one event at a time.

The rewrite copies the document's own text (comments, layout, anchors) and replaces only:

- a scalar that resolves to a string and names a source identifier: written back double-quoted;
- the value of a top-level key the overlay names: materialised, rewritten, deep-merged and written back in
  flow style on one line;
- overlay keys the top-level mapping lacks: appended at its end (deep_merge semantics; a key a ``<<`` merge
  key brings in is merged with what it brings);
- ``!!omap`` / ``!!pairs``: safe_load gives tuples, which ``Rewriter.value`` turns into lists: written as lists;
- an alias whose anchor was inside a replaced part: written out in full.

Everything else is prod's own text, numbers included. The parts written back in flow style are written from
parsed values, like the in-memory path's dump: safe_load reads back the same values, but a float with more
digits than a double holds is written with the double's digits there.

What is refused is what ``yaml.safe_load`` refuses (a second document, unknown tags, duplicate anchors,
unhashable keys, bad merge keys, scalars its constructors reject), as UnparseableDocumentError.

Memory: the window of text PyYAML reads ahead, one scalar, the subtrees under top-level overlay keys, and
every anchored node (kept as yaml nodes so that a later alias can be resolved when it must be expanded).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pipeline_functions.exceptions import UnparseableDocumentError
from pipeline_functions.shared.rewrite import deep_merge
from pipeline_functions.shared.streaming_text import OUTPUT_CHUNK, Leftovers, Splice, decoded, encoded

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from pipeline_functions.shared.rewrite import Rewriter

_TAG = "tag:yaml.org,2002:"
STR, MAP, SEQ, SET, OMAP, PAIRS, MERGE = (
    _TAG + name for name in ("str", "map", "seq", "set", "omap", "pairs", "merge")
)
_UNTYPED = (STR, _TAG + "null", _TAG + "bool")  # resolved only from values their constructors accept
_COLLECTION_TAGS: dict[type[Node], tuple[str, ...]] = {MappingNode: (MAP, SET), SequenceNode: (SEQ, OMAP, PAIRS)}
_NODE_EVENTS = (yaml.ScalarEvent, yaml.AliasEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)
_END_EVENTS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
# Characters a double-quoted YAML scalar must escape beyond what JSON escapes: non-printables, YAML's extra
# line breaks (NEL, LS, PS), the byte order mark, and lone surrogates.
_YAML_UNSAFE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


class _Loader(yaml.SafeLoader):
    """SafeLoader that remembers where the text of the last scalar starts (after its anchor and tag)."""

    scalar_start = 0

    def get_token(self) -> Any:
        token = super().get_token()
        if isinstance(token, yaml.ScalarToken):
            self.scalar_start = token.start_mark.index
        return token


class _Source:
    """File-like text for PyYAML's reader; what it read is kept from ``keep`` on for the output to copy."""

    def __init__(self, chunks: Iterable[bytes], keep_text: bool) -> None:
        self._pieces = decoded(chunks)
        self._keep_text = keep_text
        self._buf = ""
        self._base = 0
        self.length = 0
        self.keep: int | None = None

    def read(self, size: int = -1) -> str:
        piece = next(self._pieces, "")
        self.length += len(piece)
        if self._keep_text:
            drop = (self.keep or 0) - self._base
            if drop > OUTPUT_CHUNK:
                self._buf = self._buf[drop:]
                self._base += drop
            self._buf += piece
        return piece

    def text(self, start: int, end: int) -> str:
        return self._buf[start - self._base : end - self._base]


@dataclass
class _Frame:
    """An open mapping or sequence."""

    kind: type[Node]
    key_next: bool = True  # mappings: the next node is a key
    merge_value_next: bool = False  # mappings: the next node is the value of a "<<" key
    merge_items: bool = False  # sequences under "<<": every item must be a mapping


@dataclass
class _Place:
    """Where a node event sits, and what it resolves to."""

    tag: str = ""
    in_key: bool = False
    depth: int = 0  # open collections around the node
    value: Any = None  # scalars: the constructed value


class _Walk:
    """The events of one YAML document, checked for everything ``yaml.safe_load`` would refuse."""

    def __init__(self, chunks: Iterable[bytes], keep_text: bool) -> None:
        self.source = _Source(chunks, keep_text)
        self.loader = _Loader(self.source)
        self.kinds: dict[str, type[Node]] = {}  # anchor -> kind of the node it names
        self.frames: list[_Frame] = []
        self.documents = 0

    def events(self) -> Iterator[tuple[Any, _Place]]:
        try:
            while self.loader.check_event():
                event = self.loader.get_event()
                if isinstance(event, yaml.DocumentStartEvent):
                    self.documents += 1
                    if self.documents > 1:
                        raise UnparseableDocumentError("invalid YAML: more than one document in the stream")
                if isinstance(event, _NODE_EVENTS):
                    yield event, self._node(event)
                elif isinstance(event, _END_EVENTS):
                    self.frames.pop()
                    yield event, _Place(depth=len(self.frames))
                else:
                    yield event, _Place(depth=len(self.frames))
        except yaml.YAMLError as exc:
            raise UnparseableDocumentError(f"invalid YAML: {exc}") from exc
        finally:
            self.loader.dispose()

    def _node(self, event: Any) -> _Place:
        parent = self.frames[-1] if self.frames else None
        place = _Place(
            depth=len(self.frames), in_key=parent is not None and parent.kind is MappingNode and parent.key_next
        )
        kind = self._kind(event)
        merge_items = False
        if parent is not None:
            merge_items = self._check_merge(parent, place, kind, event)
            if parent.kind is MappingNode:
                parent.key_next = not parent.key_next
        if place.in_key and kind is not ScalarNode:
            _refuse(event, "found unhashable key")
        if isinstance(event, yaml.AliasEvent):
            return place
        if event.anchor is not None:
            if event.anchor in self.kinds:
                _refuse(event, f"found duplicate anchor {event.anchor!r}")
            self.kinds[event.anchor] = kind
        place.tag = self._tag(event, kind)
        if kind is ScalarNode:
            place.value = self._scalar(event, place, parent)
        else:
            self.frames.append(_Frame(kind, merge_items=merge_items))
        return place

    def _kind(self, event: Any) -> type[Node]:
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.kinds:
                _refuse(event, f"found undefined alias {event.anchor!r}")
            return self.kinds[event.anchor]
        if isinstance(event, yaml.MappingStartEvent):
            return MappingNode
        return SequenceNode if isinstance(event, yaml.SequenceStartEvent) else ScalarNode

    @staticmethod
    def _check_merge(parent: _Frame, place: _Place, kind: type[Node], event: Any) -> bool:
        """A "<<" value must be a mapping or a sequence of mappings (SafeConstructor.flatten_mapping).

        True when the node is such a sequence, written out (its items are checked as they come)."""
        if parent.merge_value_next and not place.in_key:
            parent.merge_value_next = False
            if kind is ScalarNode:
                _refuse(event, "expected a mapping or list of mappings for merging")
            return isinstance(event, yaml.SequenceStartEvent)
        if parent.merge_items and kind is not MappingNode:
            _refuse(event, "expected a mapping for merging")
        return False

    def _tag(self, event: Any, kind: type[Node]) -> str:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(kind, event.value if kind is ScalarNode else None, event.implicit)
        allowed = _COLLECTION_TAGS.get(kind)
        if allowed is not None and tag not in allowed:
            _refuse(event, f"tag {tag} is not allowed on a {'mapping' if kind is MappingNode else 'sequence'}")
        return str(tag)

    def _scalar(self, event: Any, place: _Place, parent: _Frame | None) -> Any:
        if place.tag == MERGE:
            if not place.in_key or parent is None:
                _refuse(event, "a merge key (<<) is only allowed as a mapping key")
            parent.merge_value_next = True
            return "<<"
        if place.tag == STR:
            return event.value
        constructor = self.loader.yaml_constructors.get(place.tag)
        if constructor is None:
            _refuse(event, f"could not determine a constructor for the tag {place.tag!r}")
        try:
            return constructor(self.loader, ScalarNode(place.tag, event.value, style=event.style))
        except Exception as exc:  # ValueError, KeyError...: safe_load fails on the same scalar
            raise UnparseableDocumentError(f"invalid YAML: {place.tag} scalar {event.value!r}: {exc}") from exc


def _end_index(event: Any) -> int:
    return int(event.end_mark.index)


def _refuse(event: Any, problem: str) -> NoReturn:
    mark = event.start_mark
    raise UnparseableDocumentError(f"invalid YAML: {problem} (line {mark.line + 1}, column {mark.column + 1})")


class _Builder:
    """Composes yaml nodes from events, as PyYAML's composer does, but only while a capture is open."""

    def __init__(self, anchors: dict[str, Node]) -> None:
        self.anchors = anchors
        self._open: list[tuple[Node, list[Node]]] = []
        self._waiting: list[tuple[int, Callable[[Node], None]]] = []  # (depth, callback) of open captures

    @property
    def active(self) -> bool:
        return bool(self._waiting)

    def capture(self, callback: Callable[[Node], None]) -> None:
        """Call ``callback`` with the node the next event starts, once that node is complete."""
        self._waiting.append((len(self._open), callback))

    def feed(self, event: Any, tag: str) -> None:
        if isinstance(event, yaml.AliasEvent):
            node: Node = self.anchors[str(event.anchor)]
        elif isinstance(event, yaml.ScalarEvent):
            node = self._named(event, ScalarNode(tag, event.value, style=event.style))
        elif isinstance(event, yaml.CollectionStartEvent):
            kind = MappingNode if isinstance(event, yaml.MappingStartEvent) else SequenceNode
            collection = kind(tag, [], flow_style=event.flow_style)
            self._open.append((self._named(event, collection), []))
            return
        else:
            node, children = self._open.pop()
            node.value = (
                list(zip(children[::2], children[1::2], strict=True)) if isinstance(node, MappingNode) else children
            )
        if self._open:
            self._open[-1][1].append(node)
        while self._waiting and self._waiting[-1][0] == len(self._open):
            self._waiting.pop()[1](node)

    def _named(self, event: Any, node: Node) -> Node:
        if event.anchor is not None:
            self.anchors[event.anchor] = node
        return node


@dataclass
class _TopMerge:
    """The top-level mapping the overlay merges into."""

    overlay: dict[str, Any]
    flow: bool
    indent: str = ""
    entries: int = 0
    pending: Any = None  # what the value after the current key is: ("overlay", key), "<<" or None
    seen: set[Any] = field(default_factory=set)
    merged_in: list[Any] = field(default_factory=list)  # rewritten values of its "<<" keys, in order


@dataclass
class _Region:
    """A node written back in full: its text from ``start`` is replaced by ``make(node)`` in flow style."""

    start: int
    depth: int
    make: Callable[[Node | None], Any]
    node: Node | None = None

    def set_node(self, node: Node) -> None:
        self.node = node


class _YamlRewrite:
    """See the module docstring; ``run`` yields the rewritten text."""

    def __init__(self, chunks: Iterable[bytes], rewriter: Rewriter, leftovers: Leftovers | None) -> None:
        self.walk = _Walk(chunks, keep_text=True)
        self.source = self.walk.source
        self.out = Splice(self.source)
        self.rewriter = rewriter
        self.leftovers = leftovers
        self.sources = tuple(source for source, _ in rewriter.replacements)
        self.anchors: dict[str, Node] = {}
        self.builder = _Builder(self.anchors)
        self.displaced: set[str] = set()  # anchors whose node was replaced: their aliases are written out
        self.region: _Region | None = None
        self.top: _TopMerge | None = None
        self.last_end = 0  # end of the last scalar, alias or flow collection read

    def run(self) -> Iterator[str]:
        for event, place in self.walk.events():
            if isinstance(event, _NODE_EVENTS):
                self._node(event, place)
            elif isinstance(event, _END_EVENTS):
                self._end(event, place)
            # Text is copied only up to the last content: overlay keys may still be appended right after it.
            if self.region is None:
                self.out.copy_to(self.last_end)
            else:
                self.out.skip_to(self.last_end)
            yield from self.out.drain(least=OUTPUT_CHUNK)
        self.out.copy_to(self.source.length)
        yield from self.out.drain()
        if self.leftovers is not None:
            self.leftovers.raise_if_any()

    def _node(self, event: Any, place: _Place) -> None:
        alias = isinstance(event, yaml.AliasEvent)
        if self.top is not None and place.depth == 1:
            self._top_member(event, place)
        elif (
            place.depth == 0
            and isinstance(event, yaml.MappingStartEvent)
            and place.tag == MAP
            and self.rewriter.overlay
        ):
            self.top = _TopMerge(dict(self.rewriter.overlay), flow=bool(event.flow_style))
            self._left(self.rewriter.overlay)  # every overlay string ends up in the replica
        if self.region is None and isinstance(event, yaml.SequenceStartEvent) and place.tag in (OMAP, PAIRS):
            self._start_region(event, place, lambda node: self.rewriter.value(self._construct(node)))
        if not alias and event.anchor is not None:
            if self.region is not None:
                self.displaced.add(event.anchor)
            self.builder.capture(lambda node: None)  # anchored nodes are kept, for aliases to them
        if self.builder.active:
            self.builder.feed(event, place.tag)
        if isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            if self.region is None and alias:
                self._alias(event)
            elif self.region is None:
                self._scalar(event, place)
            self.last_end = _end_index(event)
            self._finish_region(place.depth)

    def _end(self, event: Any, place: _Place) -> None:
        if self.top is not None and place.depth == 0 and isinstance(event, yaml.MappingEndEvent):
            self._append_new_keys(event)
        if event.start_mark.index < event.end_mark.index:  # a flow collection's closing bracket
            self.last_end = event.end_mark.index
        if self.builder.active:
            self.builder.feed(event, "")
        self._finish_region(place.depth)

    def _scalar(self, event: Any, place: _Place) -> None:
        if place.tag != STR or not any(source in event.value for source in self.sources):
            return
        rewritten = self.rewriter.text(event.value)
        if self.leftovers is not None:
            self.leftovers.check(rewritten)
        end = event.end_mark.index
        self.out.replace(self.walk.loader.scalar_start, end, _quoted(rewritten) + self._line_break_before(end))

    def _alias(self, event: Any) -> None:
        if event.anchor in self.displaced:
            value = self.rewriter.value(self._construct(self.anchors[event.anchor]))
            self._left(value)
            self.out.replace(event.start_mark.index, event.end_mark.index, render(value))

    def _top_member(self, event: Any, place: _Place) -> None:
        top = self.top
        assert top is not None
        if place.in_key:
            top.entries += 1
            if top.entries == 1:
                top.indent = " " * event.start_mark.column
            key = self._key_value(event, place)
            top.pending = "<<" if place.tag == MERGE else ("overlay", key) if key in top.overlay else None
            if isinstance(top.pending, tuple):
                top.seen.add(key)
            return
        pending, top.pending = top.pending, None
        if pending == "<<":
            self.builder.capture(lambda node: top.merged_in.append(self.rewriter.value(self._construct(node))))
        elif pending is not None:
            key = pending[1]
            patch = top.overlay[key]
            if isinstance(patch, dict):
                merged = lambda node: deep_merge({key: self.rewriter.value(self._construct(node))}, {key: patch})[key]  # noqa: E731
                self._start_region(event, place, merged)
            else:
                self._start_region(event, place, lambda node: copy.deepcopy(patch), need_node=False)

    def _key_value(self, event: Any, place: _Place) -> Any:
        """The key as it will be in the replica (rewritten if it is a string)."""
        alias = isinstance(event, yaml.AliasEvent)
        value = self._construct(self.anchors[event.anchor]) if alias else place.value
        return self.rewriter.text(value) if isinstance(value, str) else value

    def _start_region(self, event: Any, place: _Place, make: Callable[[Any], Any], need_node: bool = True) -> None:
        self.region = _Region(event.start_mark.index, place.depth, make)
        self.out.copy_to(self.region.start)  # from here on the region's text is dropped as it is read
        if need_node:
            self.builder.capture(self.region.set_node)

    def _finish_region(self, depth: int) -> None:
        region = self.region
        if region is None or depth != region.depth:
            return
        self.region = None
        value = region.make(region.node)
        self._left(value)
        end = max(self.last_end, region.start)
        # An empty value ("key:") starts right after the colon; a block scalar's text ends with its line break.
        prefix = " " if end == region.start else ""
        self.out.replace(region.start, end, prefix + render(value) + self._line_break_before(end))

    def _append_new_keys(self, event: Any) -> None:
        """Overlay keys the mapping lacks go after its last value (where deep_merge appends them)."""
        top = self.top
        assert top is not None
        brought: dict[Any, Any] = {}
        for value in top.merged_in:  # "<<" keys as SafeConstructor.flatten_mapping merges them
            for mapping in [value] if isinstance(value, dict) else reversed(value):
                brought.update(mapping)
        entries = []
        for key, patch in top.overlay.items():
            if key in top.seen:
                continue
            value = deep_merge({key: brought[key]} if key in brought else {}, {key: patch})[key]
            self._left(value)
            entries.append(f"{render(key)}: {render(value)}")
        if not entries:
            return
        if top.flow:
            at = self.last_end if top.entries else event.start_mark.index
            text = (", " if top.entries else "") + ", ".join(entries)
        else:
            at = self.last_end
            lines = [top.indent + entry for entry in entries]
            at_line_start = self.source.text(at - 1, at) == "\n"
            text = "".join(line + "\n" for line in lines) if at_line_start else "".join("\n" + line for line in lines)
        self.out.replace(at, at, text)

    def _line_break_before(self, end: int) -> str:
        return "\n" if end > 0 and self.source.text(end - 1, end) == "\n" else ""

    def _construct(self, node: Node) -> Any:
        try:
            return self.walk.loader.construct_document(node)
        except (yaml.YAMLError, ValueError, TypeError, KeyError, RecursionError) as exc:
            raise UnparseableDocumentError(f"invalid YAML: {exc}") from exc

    def _left(self, value: Any) -> None:
        if self.leftovers is not None:
            self.leftovers.add(self.rewriter.leftovers(value))


class _FlowDumper(yaml.SafeDumper):
    """One line of flow-style YAML, without anchors (a replaced part must not define any)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # A line break written as such would spread the value over lines; double quotes escape it.
    style = '"' if _YAML_UNSAFE.search(data) or "\n" in data or "\r" in data else None
    return dumper.represent_scalar(STR, data, style=style)


_FlowDumper.add_representer(str, _represent_str)


def render(value: Any) -> str:
    """``value`` as flow-style YAML on one line, valid wherever a node may stand."""
    text = yaml.dump(
        [value], Dumper=_FlowDumper, default_flow_style=True, width=2**31, allow_unicode=True, sort_keys=False
    )
    return text.strip()[1:-1]  # the list only forces flow style, and never needs a document end marker


def _quoted(text: str) -> str:
    """A double-quoted YAML scalar: JSON's escapes are YAML's, plus \\u / \\U for what YAML must not see raw."""
    return _YAML_UNSAFE.sub(_escape, json.dumps(text, ensure_ascii=False))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def rewritten_yaml(chunks: Iterable[bytes], rewriter: Rewriter, leftovers: Leftovers | None) -> Iterator[str]:
    return _YamlRewrite(chunks, rewriter, leftovers).run()


def rewrite_yaml(chunks: Iterable[bytes], rewriter: Rewriter, what: str) -> Iterator[bytes]:
    return encoded(rewritten_yaml(chunks, rewriter, Leftovers(rewriter, what)))


# Value-level events, as streaming_json's: (kind, value).
KEY, MAP_START, SEQ_START, END, SCALAR = "key", "map", "seq", "end", "scalar"


def yaml_events(chunks: Iterable[bytes]) -> Iterator[tuple[str, Any]]:
    """The document as MAP/KEY/SEQ/SCALAR/END events, aliases replayed from what their anchor named.

    Anchored nodes' events are kept for that; "<<" merge keys are compared as written, not flattened."""
    walk = _Walk(chunks, keep_text=False)
    stored: dict[str, list[tuple[str, Any]]] = {}
    recording: list[tuple[str, int, list[tuple[str, Any]]]] = []  # open anchored collections
    for event, place in walk.events():
        if isinstance(event, yaml.StreamEndEvent) and not walk.documents:
            yield (SCALAR, None)  # no document at all: safe_load gives None, as for "null"
        produced = _produced(event, place, stored)
        if isinstance(event, yaml.CollectionStartEvent) and event.anchor is not None:
            recording.append((event.anchor, place.depth, []))
        for item in produced:
            for _, _, events in recording:
                events.append(item)
            yield item
        if isinstance(event, yaml.ScalarEvent) and event.anchor is not None:
            stored[event.anchor] = produced
        while recording and isinstance(event, _END_EVENTS) and recording[-1][1] == place.depth:
            anchor, _, events = recording.pop()
            stored[anchor] = events


def _produced(event: Any, place: _Place, stored: dict[str, list[tuple[str, Any]]]) -> list[tuple[str, Any]]:
    if isinstance(event, yaml.AliasEvent):
        if event.anchor not in stored:
            raise UnparseableDocumentError(f"invalid YAML: alias *{event.anchor} refers to the node it is in")
        replayed = stored[event.anchor]
        return (
            [(KEY, replayed[0][1])] if place.in_key else [(SCALAR, replayed[0][1])] if len(replayed) == 1 else replayed
        )
    if isinstance(event, yaml.ScalarEvent):
        return [(KEY if place.in_key else SCALAR, place.value)]
    if isinstance(event, yaml.MappingStartEvent):
        return [(MAP_START, None)]
    if isinstance(event, yaml.SequenceStartEvent):
        return [(SEQ_START, None)]
    return [(END, None)] if isinstance(event, _END_EVENTS) else []


def yaml_identifiers(chunks: Iterable[bytes], identifiers: list[str]) -> set[str]:
    """Identifiers named by a scalar (value or key) of the document, as decoded by the parser."""
    found: set[str] = set()
    for event, _ in _Walk(chunks, keep_text=False).events():
        if isinstance(event, yaml.ScalarEvent):
            found.update(name for name in identifiers if name in event.value)
    return found
