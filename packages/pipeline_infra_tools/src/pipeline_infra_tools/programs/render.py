"""`pipeline-infra render`: every layer of an environment, rendered offline with realistic ids and ARNs.

The library's settings are imported inside the functions, once the program runner has started: pydantic
builds the settings models on import, which takes about as long as the runner's worker takes to import the
SDK, and on a fresh `pipeline-infra render` the two then overlap.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra.layers import stack_closure, upstream_stacks
from pipeline_infra_tools.artifact import function_artifact_path
from pipeline_infra_tools.engine.harness import StackOutputsStore
from pipeline_infra_tools.programs.request import program_request
from pipeline_infra_tools.programs.runner import run_in_order, shared_runner

if TYPE_CHECKING:
    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.engine.harness import StackResult
    from pipeline_infra_tools.programs.request import ProgramRequest
    from pipeline_infra_tools.programs.runner import ProgramRunner
    from pipeline_infra_tools.workspace import Workspace


def render_stacks(
    workspace: Workspace,
    wanted: list[tuple[str, str]],
    settings: Settings | None = None,
    runner: ProgramRunner | None = None,
) -> dict[tuple[str, str], StackResult]:
    """Render `wanted` and everything they reference: each program as soon as the stacks it reads are
    rendered, as many at once as the runner runs (one per core). A failure is reported once every program
    that does not read the failed one has finished."""
    # Started first: the runner's worker imports the SDK while this process reads settings and pins.
    runner = runner or shared_runner()
    if settings is None:
        from pipeline_infra.settings import load_settings

        settings = load_settings(workspace.config_dir)
    artifact = function_artifact_path(workspace.root)

    def request(stack: tuple[str, str]) -> ProgramRequest:
        env = settings.env(stack[1])
        options = {"account_id": env.account_id, "region": env.region}
        return program_request(workspace, stack[0], stack[1], "render", options, store.root, artifact)

    with tempfile.TemporaryDirectory(prefix="pipeline-render-") as scratch:
        store = StackOutputsStore(Path(scratch))
        return run_in_order(
            runner,
            stack_closure(settings, wanted),
            lambda stack: upstream_stacks(settings, *stack),
            request,
            lambda _, result: store.save(result),
        )


def render_environment(workspace: Workspace, env: str, layers: list[str] | None = None) -> dict[str, Any]:
    """The `render --format json` document: {"environment", "stacks": [{project, stack, outputs, resources}]}."""
    runner = shared_runner()
    from pipeline_infra.settings import load_settings

    settings = load_settings(workspace.config_dir)
    settings.env(env)
    selected = layers or workspace.layers_for(env)
    wanted = [(layer, env) for layer in selected if env in workspace.project(layer).stacks()]
    results = render_stacks(workspace, wanted, settings, runner)
    return {"environment": env, "stacks": [results[stack].to_json() for stack in wanted]}


def render_table(document: dict[str, Any]) -> str:
    lines = [f"environment {document['environment']}"]
    for stack in document["stacks"]:
        resources = stack["resources"]
        lines.append(f"\n{stack['project']}/{stack['stack']}: {len(resources)} resources")
        width = max((len(r["type"]) for r in resources), default=10)
        for resource in resources:
            lines.append(f"  {resource['type']:<{width}}  {resource['name']:<40}  {resource['id']}")
        lines.append("  outputs:")
        for key, value in sorted(stack["outputs"].items()):
            lines.append(f"    {key} = {value}")
    return "\n".join(lines)
