"""`pipeline-infra status --env ENV [--window MINUTES | --since TIME] [--target local|aws] [--format text|json]`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.workspace import command_prefix

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from pipeline_infra_tools.workspace import Workspace

DEFAULT_WINDOW_MINUTES = 60


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="replication health at a glance: changes, failures, lag, DLQ depths, alarms, the last drift check",
        description=(
            "Reads CloudWatch metrics and alarms and SQS (the sandbox's emulator on the local target). Exit 0 when "
            "healthy; 1 when something needs attention (a DLQ holding messages, an alarm in ALARM, replication "
            "failures in the window, a drift check that found drift or did not run within its schedule); "
            "2 on a usage or settings error."
        ),
    )
    parser.add_argument("--env", required=True, help="environment name from shared_config/")
    window = parser.add_mutually_exclusive_group()
    window.add_argument(
        "--window", type=int, default=DEFAULT_WINDOW_MINUTES, metavar="MINUTES", help="look back this long (60)"
    )
    window.add_argument("--since", metavar="TIME", help="look back to this ISO-8601 time instead (e.g. a repair's)")
    parser.add_argument("--target", choices=("local", "aws"), help="where to read (default: $PIPELINE_TARGET or local)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(handler=run)


def _since(args: argparse.Namespace, now: datetime) -> datetime | None:
    if args.since is None:
        return now - timedelta(minutes=args.window)
    try:
        since = datetime.fromisoformat(args.since)
    except ValueError:
        return None
    return since if since.tzinfo else since.replace(tzinfo=UTC)


def _clients(target: str, workspace: Workspace) -> Callable[[str, str], Any]:
    if target == "aws":
        import boto3

        session = boto3.Session()
        return lambda service, region: session.client(service, region_name=region)  # type: ignore[call-overload]
    from pipeline_infra_tools.exceptions import DeployError
    from pipeline_infra_tools.sandbox.clients import emulator_client, emulator_session
    from pipeline_infra_tools.sandbox.state import SandboxStateFile

    state = SandboxStateFile(workspace.state_dir).load()
    if state is None:
        raise DeployError(f"no sandbox running: run `{command_prefix()} sandbox up` (or read AWS with --target aws)")
    sessions: dict[str, Any] = {}

    def client(service: str, region: str) -> Any:
        # The administrator's keys read every environment, as `drift --live` reads them.
        if region not in sessions:
            sessions[region] = emulator_session(state.access_key_id, state.secret_access_key, region)
        return emulator_client(sessions[region], service, state.endpoint)

    return client


def run(args: argparse.Namespace) -> int:
    from pipeline_infra.settings import load_settings
    from pipeline_infra_tools.cli import EXIT_USAGE
    from pipeline_infra_tools.deploy.orchestrator import make_target, target_name
    from pipeline_infra_tools.exceptions import DeployError
    from pipeline_infra_tools.operations.status import StatusRequest, collect_status
    from pipeline_infra_tools.operations.status_text import render_status_text
    from pipeline_infra_tools.workspace import Workspace

    now = datetime.now(UTC)
    start = _since(args, now)
    if start is None or start >= now or args.window <= 0:
        print(
            f"usage error: --since {args.since!r} / --window {args.window} must start a window in the past",
            file=sys.stderr,
        )
        return EXIT_USAGE
    workspace = Workspace.discover()
    settings = load_settings(workspace.config_dir)
    env, source = settings.env(args.env), settings.source
    name = target_name(args.target)
    deploy_target = make_target(name, workspace, settings)
    outputs = {layer: deploy_target.outputs(layer, args.env) for layer in workspace.layers_for(args.env)}
    deployed = {layer: values for layer, values in outputs.items() if values}
    if not deployed:
        raise DeployError(
            f"{args.env} has no deployed stack on the {name} target; run `{command_prefix()} deploy --env {args.env}`"
        )
    request = StatusRequest(
        environment=args.env,
        start=start,
        end=now,
        source_environment=source.name,
        source_region=source.region,
        region=env.region,
        name_suffix=env.suffix,
        drift_schedule=source.replication.drift_schedule,
        outputs=deployed,
    )
    report = collect_status(_clients(name, workspace), request)
    if args.format == "json":
        print(json.dumps({"target": name, **report.to_json()}, indent=2, sort_keys=True))
    else:
        print(render_status_text(report))
    return report.exit_code()
