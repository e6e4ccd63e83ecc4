"""`pipeline-infra graph`: a picture of an environment's rendered stacks (layers, components, resources, flows)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline_infra_tools.graph.draw import FORMATS, draw, to_dot, to_mermaid
from pipeline_infra_tools.graph.model import Edge, Group, Node, SystemGraph, build_graph

if TYPE_CHECKING:
    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.workspace import Workspace


def environment_picture(
    workspace: Workspace, settings: Settings, env: str, layers: list[str] | None, fmt: str, use_cache: bool = True
) -> str:
    """The environment's layers (all it has, or `layers`) rendered (from the render cache when current) and drawn."""
    from pipeline_infra_tools.drift.render_cache import rendered_documents

    settings.env(env)
    selected = [layer for layer in workspace.layers_for(env) if not layers or layer in layers]
    wanted = [(layer, env) for layer in selected if env in workspace.project(layer).stacks()]
    documents = rendered_documents(workspace, settings, wanted, use_cache)
    return draw(build_graph([documents[stack] for stack in wanted], f"pipeline-infra {env}"), fmt)


__all__ = [
    "FORMATS",
    "Edge",
    "Group",
    "Node",
    "SystemGraph",
    "build_graph",
    "draw",
    "environment_picture",
    "to_dot",
    "to_mermaid",
]
