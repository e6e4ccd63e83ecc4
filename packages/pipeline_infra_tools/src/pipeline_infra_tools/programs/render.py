"""`pipeline-infra render`: every layer of an environment, rendered offline with realistic ids and ARNs."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra.layers import stack_closure, upstream_stacks
from pipeline_infra.settings import load_settings
from pipeline_infra_tools.artifact import function_artifact_path
from pipeline_infra_tools.engine.harness import StackOutputsStore
from pipeline_infra_tools.programs.launcher import run_layer

if TYPE_CHECKING:
    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.engine.harness import StackResult
    from pipeline_infra_tools.workspace import Workspace

# Rendering is CPU-bound per process; two at a time keeps a 2-core machine busy without thrashing.
PARALLEL_PROGRAMS = 2


def render_stacks(
    workspace: Workspace, wanted: list[tuple[str, str]], settings: Settings | None = None
) -> dict[tuple[str, str], StackResult]:
    """Render `wanted` and everything they reference, in dependency order, two programs at a time."""
    settings = settings or load_settings(workspace.config_dir)
    artifact = function_artifact_path(workspace.root)
    results: dict[tuple[str, str], StackResult] = {}
    pending = stack_closure(settings, wanted)

    def render_one(stack: tuple[str, str]) -> StackResult:
        env = settings.env(stack[1])
        options = {"account_id": env.account_id, "region": env.region}
        return run_layer(workspace, stack[0], stack[1], "render", options, store.root, artifact)

    with tempfile.TemporaryDirectory(prefix="pipeline-render-") as scratch:
        store = StackOutputsStore(Path(scratch))
        while pending:
            # A wave: every stack whose upstream stacks are rendered; they run side by side.
            wave = [s for s in pending if all(u in results for u in upstream_stacks(settings, *s))]
            with ThreadPoolExecutor(max_workers=PARALLEL_PROGRAMS) as pool:
                for stack, result in zip(wave, pool.map(render_one, wave), strict=True):
                    store.save(result)
                    results[stack] = result
            pending = [s for s in pending if s not in results]
    return results


def render_environment(workspace: Workspace, env: str, layers: list[str] | None = None) -> dict[str, Any]:
    """The `render --format json` document: {"environment", "stacks": [{project, stack, outputs, resources}]}."""
    settings = load_settings(workspace.config_dir)
    settings.env(env)
    selected = layers or workspace.layers_for(env)
    wanted = [(layer, env) for layer in selected if env in workspace.project(layer).stacks()]
    results = render_stacks(workspace, wanted, settings)
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
