"""`pipeline-infra redrive --env ENV` and `pipeline-infra resync --from ENV --to ENV` (local sandbox)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.workspace import command_prefix

if TYPE_CHECKING:
    import argparse

    from pipeline_infra_tools.operations.resync import ResyncReport
    from pipeline_infra_tools.sandbox.lambda_runtime.service import LambdaRuntime


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    redrive = subparsers.add_parser("redrive", help="replay the replication dead-letter queue through the replicator")
    redrive.add_argument("--env", required=True, help="the source environment (its replication DLQ)")
    redrive.add_argument("--format", choices=("json", "table"), default="table")
    redrive.set_defaults(handler=run_redrive)
    resync = subparsers.add_parser("resync", help="copy every config object and item from the source to one target")
    resync.add_argument("--from", dest="source", required=True)
    resync.add_argument("--to", dest="target", required=True)
    resync.add_argument("--format", choices=("json", "table"), default="table")
    resync.set_defaults(handler=run_resync)


def _runtime_and_outputs(env: str) -> tuple[LambdaRuntime, dict[str, dict[str, Any]]]:
    from pipeline_infra.settings import load_settings
    from pipeline_infra_tools.exceptions import DeployError
    from pipeline_infra_tools.sandbox.lambda_runtime.process import runtime_for
    from pipeline_infra_tools.workspace import Workspace

    workspace = Workspace.discover()
    settings = load_settings(workspace.config_dir)
    if env != settings.project.source_environment:
        raise DeployError(
            f"{env!r} replicates nothing; the source environment is {settings.project.source_environment!r}"
        )
    runtime = runtime_for(workspace.state_dir)
    runtime.reload()
    project = settings.project.name
    outputs = {
        layer: runtime.deployment.outputs.get(f"{project}-{layer}/{env}")
        for layer in ("storage", "notifications", "replication")
    }
    missing = [layer for layer, value in outputs.items() if value is None]
    if missing:
        raise DeployError(
            f"{env} has no deployed {', '.join(missing)} stack; run `{command_prefix()} deploy --env {env}`"
        )
    return runtime, {k: v for k, v in outputs.items() if v is not None}


def run_redrive(args: argparse.Namespace) -> int:
    from pipeline_infra_tools.operations import redrive

    runtime, outputs = _runtime_and_outputs(args.env)
    try:
        report = redrive(
            runtime, outputs["replication"]["replicator_function_name"], outputs["notifications"]["replication_dlq_url"]
        )
    finally:
        runtime.close()
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(f"replayed {report.replayed}: {report.succeeded} succeeded, {len(report.failed)} back in the DLQ")
        for failure in report.failed:
            print(f"  still failing: {failure['error']}: {failure['reason']}")
    return 0 if not report.failed else 1


def run_resync(args: argparse.Namespace) -> int:
    from pipeline_infra_tools.operations import SourceStack, resync

    runtime, outputs = _runtime_and_outputs(args.source)
    storage = outputs["storage"]
    source = SourceStack(
        environment=args.source,
        bucket=storage["bucket_name"],
        config_table=storage["config_table_name"],
        account_id=storage["account_id"],
        region=storage["region"],
    )
    try:
        report = resync(runtime, outputs["replication"]["replicator_function_name"], source, args.target)
    finally:
        runtime.close()
    if args.format == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        _print_resync(report)
    return 0 if report.ok else 1


def _print_resync(report: ResyncReport) -> None:
    rows = [
        ("objects compared", report.objects_compared),
        ("items compared", report.items_compared),
        ("differences", report.differences),
        ("copied", report.copied),
        ("deleted", report.deleted),
        ("unchanged", report.unchanged),
        ("failed", len(report.failed)),
        ("still different after", report.remaining),
    ]
    print(f"resync {report.source} -> {report.target}: {'complete' if report.ok else 'INCOMPLETE'}")
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    for change in report.changes:
        print(f"  {change['outcome']:<10} {change['change']} ({change['difference']}): {change['reason']}")
    for failure in report.failed:
        print(f"  FAILED {failure['change']}: {failure['reason']}")
