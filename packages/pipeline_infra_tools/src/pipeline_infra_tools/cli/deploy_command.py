"""`pipeline-infra deploy|preview|destroy --env ENV [--layer LAYER] [--target local|aws]` and `outputs`."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

from pipeline_infra.layers import LAYERS

if TYPE_CHECKING:
    import argparse

    from pipeline_infra_tools.deploy.base import LayerResult, ProgressEvent

OPERATIONS = {
    "deploy": "create or update an environment's stacks, layer by layer",
    "preview": "show what deploy would create, update or delete, changing nothing",
    "destroy": "delete an environment's stacks in reverse layer order",
}
SYMBOLS = {"create": "+", "update": "~", "same": "=", "delete": "-"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for operation, help_text in OPERATIONS.items():
        parser = subparsers.add_parser(operation, help=help_text)
        parser.add_argument("--env", required=True, help="environment name from shared_config/")
        parser.add_argument("--layer", choices=LAYERS, action="append", help="only this layer (repeatable)")
        parser.add_argument(
            "--target", choices=("local", "aws"), help="where to deploy (default: $PIPELINE_TARGET or local)"
        )
        parser.add_argument("--quiet", action="store_true", help="no per-resource lines")
        parser.set_defaults(handler=run_operation, operation=operation)
    parser = subparsers.add_parser("outputs", help="print a deployed stack's outputs")
    parser.add_argument("--env", required=True)
    parser.add_argument("--layer", required=True, choices=LAYERS)
    parser.add_argument("--target", choices=("local", "aws"))
    parser.add_argument("--format", choices=("json", "table"), default="table")
    parser.set_defaults(handler=run_outputs)


def _target(args: argparse.Namespace) -> Any:
    from pipeline_infra.settings import load_settings
    from pipeline_infra_tools.deploy.orchestrator import make_target, target_name
    from pipeline_infra_tools.workspace import Workspace

    workspace = Workspace.discover()
    settings = load_settings(workspace.config_dir)
    return workspace, settings, make_target(target_name(args.target), workspace, settings)


def run_operation(args: argparse.Namespace) -> int:
    from pipeline_infra_tools.deploy.orchestrator import Orchestrator

    workspace, settings, target = _target(args)
    started = time.perf_counter()

    def progress(event: ProgressEvent) -> None:
        if event.kind == "resource":
            if not args.quiet and event.message != "same":
                symbol = SYMBOLS.get(event.message, "*")
                print(f"  {symbol} {event.message:<6} {event.resource_type}  {event.resource_name}", flush=True)
        else:
            print(f"[{event.layer}/{event.env}] {event.message}", flush=True)

    try:
        results = Orchestrator(workspace, settings, target).execute(args.operation, args.env, args.layer, progress)
    finally:
        close = getattr(target, "close", None)
        if callable(close):
            close()
    _print_outputs(results)
    elapsed = time.perf_counter() - started
    print(f"{args.operation} {args.env} on {target.name}: {len(results)} stack(s) in {elapsed:.1f} s")
    return 0


def _print_outputs(results: list[LayerResult]) -> None:
    for result in results:
        if result.operation == "destroy" or not result.outputs:
            continue
        print(f"\noutputs of {result.layer}/{result.env}:")
        for key, value in sorted(result.outputs.items()):
            print(f"  {key} = {value}")


def run_outputs(args: argparse.Namespace) -> int:
    _, _, target = _target(args)
    outputs = target.outputs(args.layer, args.env)
    if outputs is None:
        print(
            f"{args.layer}/{args.env} is not deployed on the {target.name} target; "
            f"deploy it with `pipeline-infra deploy --env {args.env} --layer {args.layer}`",
            file=sys.stderr,
        )
        return 1
    if args.format == "json":
        print(json.dumps(outputs, indent=2, sort_keys=True, default=str))
    else:
        for key, value in sorted(outputs.items()):
            print(f"{key} = {value}")
    return 0
