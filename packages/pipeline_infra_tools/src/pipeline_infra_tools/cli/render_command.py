"""`pipeline-infra render --env ENV [--layer LAYER] --format json|table`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pipeline_infra.layers import LAYERS

if TYPE_CHECKING:
    import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("render", help="render an environment's resource graph offline")
    parser.add_argument("--env", required=True, help="environment name from shared_config/")
    parser.add_argument("--layer", choices=LAYERS, action="append", help="only this layer (repeatable)")
    parser.add_argument("--format", choices=("json", "table"), default="table")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pipeline_infra_tools.programs.render import render_environment, render_table
    from pipeline_infra_tools.workspace import Workspace

    document = render_environment(Workspace.discover(), args.env, args.layer)
    print(
        json.dumps(document, indent=2, sort_keys=True, default=str) if args.format == "json" else render_table(document)
    )
    return 0
