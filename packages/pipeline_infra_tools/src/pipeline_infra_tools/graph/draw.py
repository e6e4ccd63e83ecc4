"""A SystemGraph as Mermaid (a `flowchart`, GitHub renders it) or Graphviz DOT text; deterministic output."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline_infra_tools.graph.model import Group, SystemGraph

FORMATS = ("mermaid", "dot")
_MERMAID_ARROWS = {"flow": "-->", "failure": "-.->", "reference": "==>", "read": "-.->"}
_DOT_STYLES = {
    "flow": "",
    "failure": ', style="dashed", color="firebrick"',
    "reference": ', style="bold", color="gray40"',
    "read": ', style="dotted"',
}


def _mermaid_text(text: str) -> str:
    return text.replace('"', "#quot;")


def _mermaid_group(group: Group, indent: str) -> list[str]:
    if not group.nodes and not group.groups:
        return [f'{indent}{group.id}["{_mermaid_text(group.label)}"]']
    lines = [f'{indent}subgraph {group.id}["{_mermaid_text(group.label)}"]']
    for inner in group.groups:
        lines += _mermaid_group(inner, indent + "  ")
    lines += [f'{indent}  {node.id}["{_mermaid_text(node.label)}"]' for node in group.nodes]
    lines.append(f"{indent}end")
    return lines


def to_mermaid(graph: SystemGraph) -> str:
    lines = [f"%% {graph.title}", "flowchart LR"]
    for group in graph.groups:
        lines += _mermaid_group(group, "  ")
    for edge in graph.edges:
        lines.append(f'  {edge.source} {_MERMAID_ARROWS[edge.kind]}|"{_mermaid_text(edge.label)}"| {edge.target}')
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _anchor(group: Group) -> str:
    """A node inside the box, for edges that start or end at the box (DOT draws edges between nodes only)."""
    for node in group.all_nodes():
        return node.id
    return group.id


def _dot_group(group: Group, indent: str) -> list[str]:
    if not group.nodes and not group.groups:
        return [f'{indent}{group.id} [label="{_dot_text(group.label)}", shape=folder];']
    lines = [f"{indent}subgraph cluster_{group.id} {{", f'{indent}  label="{_dot_text(group.label)}";']
    for inner in group.groups:
        lines += _dot_group(inner, indent + "  ")
    lines += [f'{indent}  {node.id} [label="{_dot_text(node.label)}"];' for node in group.nodes]
    lines.append(f"{indent}}}")
    return lines


def _boxes(groups: list[Group]) -> dict[str, Group]:
    found: dict[str, Group] = {}
    for group in groups:
        found[group.id] = group
        found.update(_boxes(group.groups))
    return found


def to_dot(graph: SystemGraph) -> str:
    lines = [
        f'digraph "{_dot_text(graph.title)}" {{',
        "  rankdir=LR; compound=true;",
        '  node [shape=box, fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for group in graph.groups:
        lines += _dot_group(group, "  ")
    boxes = _boxes(graph.groups)
    for edge in graph.edges:
        source, target, extra = edge.source, edge.target, ""
        if source in boxes and (boxes[source].nodes or boxes[source].groups):
            source, extra = _anchor(boxes[source]), extra + f", ltail=cluster_{source}"
        if target in boxes and (boxes[target].nodes or boxes[target].groups):
            target, extra = _anchor(boxes[target]), extra + f", lhead=cluster_{target}"
        lines.append(f'  {source} -> {target} [label="{_dot_text(edge.label)}"{_DOT_STYLES[edge.kind]}{extra}];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw(graph: SystemGraph, fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown graph format {fmt!r}; expected one of {list(FORMATS)}")
    return to_mermaid(graph) if fmt == "mermaid" else to_dot(graph)


__all__ = ["FORMATS", "draw", "to_dot", "to_mermaid"]
