"""`pipeline-infra deploy|preview|destroy --env ENV [--layer LAYER] [--target local|aws]` and `outputs`."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

from pipeline_infra.layers import LAYERS
from pipeline_infra_tools.workspace import command_prefix

if TYPE_CHECKING:
    import argparse

    from pipeline_infra_tools.deploy.base import LayerResult, ProgressEvent

OPERATIONS = {
    "deploy": "create or update an environment's stacks, layer by layer",
    "preview": "show what deploy would create, update or delete, changing nothing",
    "destroy": "delete an environment's stacks in reverse layer order",
}
SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "same": "=", "delete": "-"}
JSON_SCHEMA = "pipeline-infra.changes/1"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for operation, help_text in OPERATIONS.items():
        parser = subparsers.add_parser(operation, help=help_text)
        parser.add_argument("--env", required=True, help="environment name from shared_config/")
        parser.add_argument("--layer", choices=LAYERS, action="append", help="only this layer (repeatable)")
        parser.add_argument(
            "--target", choices=("local", "aws"), help="where to deploy (default: $PIPELINE_TARGET or local)"
        )
        parser.add_argument("--quiet", action="store_true", help="no per-resource lines")
        parser.add_argument(
            "--format",
            choices=("text", "json"),
            default="text",
            help="json: one document with every stack's changes and their properties on stdout (progress to stderr)",
        )
        if operation == "deploy":
            parser.add_argument(
                "--no-refresh",
                action="store_true",
                help="local target: skip reading the stacks back from the cloud first (out-of-band changes stay)",
            )
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
    refresh = not getattr(args, "no_refresh", False)
    return (
        workspace,
        settings,
        make_target(target_name(args.target), workspace, settings, refresh_before_deploy=refresh),
    )


def run_operation(args: argparse.Namespace) -> int:
    from pipeline_infra_tools.deploy.orchestrator import Orchestrator

    workspace, settings, target = _target(args)
    started = time.perf_counter()

    as_json = args.format == "json"
    out = sys.stderr if as_json else sys.stdout

    def progress(event: ProgressEvent) -> None:
        if event.kind == "resource":
            if not args.quiet and event.message != "same":
                symbol = SYMBOLS.get(event.message, "*")
                print(f"  {symbol} {event.message:<6} {event.resource_type}  {event.resource_name}", file=out)
                for line in event.details:
                    print(f"        {line}", file=out)
                out.flush()
        else:
            print(f"[{event.layer}/{event.env}] {event.message}", file=out, flush=True)

    try:
        results = Orchestrator(workspace, settings, target).execute(args.operation, args.env, args.layer, progress)
    finally:
        close = getattr(target, "close", None)
        if callable(close):
            close()
    elapsed = time.perf_counter() - started
    if as_json:
        document = {
            "schema": JSON_SCHEMA,
            "operation": args.operation,
            "env": args.env,
            "target": target.name,
            "seconds": round(elapsed, 3),
            "stacks": [result.to_json() for result in results],
        }
        print(json.dumps(document, indent=2, sort_keys=True, default=str))
        return 0
    _print_outputs(results)
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
            f"deploy it with `{command_prefix()} deploy --env {args.env} --layer {args.layer}`",
            file=sys.stderr,
        )
        return 1
    if args.format == "json":
        print(json.dumps(outputs, indent=2, sort_keys=True, default=str))
    else:
        for key, value in sorted(outputs.items()):
            print(f"{key} = {value}")
    return 0
