"""A picture of the system built from rendered stacks: layers hold components, components hold resources.

Pure functions over `render --format json` stack documents ({project, stack, outputs, resources}). Providers and
the stacks themselves are not drawn; a StackReference is drawn as an edge from the stack it reads to the layer
that reads it (a stack outside the picture, such as dev's storage read by prod, is an external box).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

STACK_REFERENCE = "pulumi:pulumi:StackReference"
_HIDDEN_TYPES = ("pulumi:providers:", "pulumi:pulumi:Stack")
_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def node_id(*parts: str) -> str:
    """An identifier both Mermaid and DOT accept without quoting."""
    return "_".join(_UNSAFE.sub("_", part) for part in parts)


def short_type(token: str) -> str:
    """`aws:s3/bucket:Bucket` -> `Bucket`; `pipeline-infra:storage:DataBucket` -> `DataBucket`."""
    return token.rsplit(":", 1)[-1]


def layer_of(document: Mapping[str, Any]) -> str:
    """`pipeline-infra-storage` -> `storage`: the layer is the project name's last part."""
    return str(document["project"]).rsplit("-", 1)[-1]


@dataclass(frozen=True)
class Node:
    id: str
    label: str
    type: str = ""
    outputs: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    inputs: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass
class Group:
    """A layer, a component or an external stack: a box with nodes and boxes inside."""

    id: str
    label: str
    nodes: list[Node] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)

    def all_nodes(self) -> Iterable[Node]:
        yield from self.nodes
        for group in self.groups:
            yield from group.all_nodes()


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str
    kind: str = "flow"  # flow | failure | reference | read


@dataclass
class SystemGraph:
    title: str
    groups: list[Group] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    def nodes(self) -> list[Node]:
        return [node for group in self.groups for node in group.all_nodes()]

    def add_edge(self, edge: Edge) -> None:
        if edge.source != edge.target and edge not in self.edges:
            self.edges.append(edge)


def _layer_group(document: Mapping[str, Any]) -> tuple[Group, list[dict[str, Any]]]:
    layer, env = layer_of(document), str(document["stack"])
    group = Group(node_id("layer", layer), f"{layer} ({env})")
    boxes: dict[str, Group] = {}
    references = []
    for resource in document.get("resources", []):
        token = str(resource["type"])
        if token == STACK_REFERENCE:
            references.append(resource)
            continue
        if token.startswith(_HIDDEN_TYPES):
            continue
        urn = str(resource["urn"])
        parent_box = boxes.get(str(resource.get("parent") or ""))
        if not token.startswith("aws:"):  # a component: a box inside its parent's box or the layer
            box = Group(node_id(layer, "c", resource["name"]), f"{short_type(token)} {resource['name']}")
            (parent_box or group).groups.append(box)
            boxes[urn] = box
            continue
        node = Node(
            node_id(layer, resource["name"]),
            f"{short_type(token)} {resource['name']}",
            token,
            resource.get("outputs") or {},
            resource.get("inputs") or {},
        )
        (parent_box or group).nodes.append(node)
    return group, references


def build_graph(documents: list[Mapping[str, Any]], title: str) -> SystemGraph:
    """Layers (in the order given), their components and resources, and the StackReferences between them."""
    from pipeline_infra_tools.graph.flows import add_flows

    graph = SystemGraph(title)
    drawn = {f"{layer_of(d)}/{d['stack']}": node_id("layer", layer_of(d)) for d in documents}
    external: dict[str, Group] = {}
    for document in documents:
        group, references = _layer_group(document)
        graph.groups.append(group)
        for reference in references:
            # "organization/pipeline-infra-storage/dev" -> storage/dev
            _, project, stack = str(reference["inputs"]["name"]).split("/")
            key = f"{project.rsplit('-', 1)[-1]}/{stack}"
            source = drawn.get(key)
            if source is None:
                box = external.setdefault(key, Group(node_id("stack", key), f"{key} (StackReference)"))
                source = box.id
            graph.add_edge(Edge(source, group.id, "StackReference", "reference"))
    graph.groups += external.values()
    add_flows(graph, documents, external)
    return graph


__all__ = ["Edge", "Group", "Node", "SystemGraph", "build_graph", "layer_of", "node_id", "short_type"]
