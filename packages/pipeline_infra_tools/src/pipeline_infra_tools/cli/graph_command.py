"""`pipeline-infra graph --env ENV [--layer LAYER] --format mermaid|dot`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline_infra.layers import LAYERS

if TYPE_CHECKING:
    import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "graph",
        help="draw an environment's rendered graph: layers, components, resources, event flows, StackReferences",
        description="Renders offline (from .pipeline/render-cache when current) and prints Mermaid or Graphviz DOT.",
    )
    parser.add_argument("--env", required=True, help="environment name from shared_config/")
    parser.add_argument("--layer", choices=LAYERS, action="append", help="only this layer (repeatable)")
    parser.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    parser.add_argument("--no-cache", action="store_true", help="render again even when the render cache is current")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipeline_infra.settings import load_settings
    from pipeline_infra_tools.graph import environment_picture
    from pipeline_infra_tools.workspace import Workspace

    workspace = Workspace.discover()
    print(
        environment_picture(
            workspace, load_settings(workspace.config_dir), args.env, args.layer, args.format, not args.no_cache
        ),
        end="",
    )
    return 0
