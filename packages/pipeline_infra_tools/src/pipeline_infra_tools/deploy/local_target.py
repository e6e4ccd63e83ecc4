"""The local target: every stack is deployed to the sandbox (a moto server on 127.0.0.1).

Each project's program runs unchanged in its own process (a child of this command's program server, which
imported the SDK once: `programs.runner`), with the library version it pins, under the mock runtime. The child
makes its own boto3 clients and creates its resources in the emulator; its result (outputs and resources) is
saved under `.pipeline/stacks/<project>/<env>.json`, where later programs' StackReferences read it.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.deploy.base import LayerResult, ProgressEvent
from pipeline_infra_tools.engine.harness import StackOutputsStore
from pipeline_infra_tools.exceptions import DeployError
from pipeline_infra_tools.programs.launcher import run_layer
from pipeline_infra_tools.sandbox.changes import deletion_order, diff_stack, is_cloud_resource, provider_regions
from pipeline_infra_tools.sandbox.manager import Sandbox
from pipeline_infra_tools.sandbox.state import SandboxStateFile

if TYPE_CHECKING:
    from collections.abc import Callable

    Progress = Callable[[ProgressEvent], None]

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.deploy.base import Operation
    from pipeline_infra_tools.engine.harness import StackResult
    from pipeline_infra_tools.sandbox.changes import StackChanges
    from pipeline_infra_tools.workspace import Workspace


class LocalTarget:
    name = "local"

    def __init__(self, workspace: Workspace, settings: Settings | None = None) -> None:
        self.workspace = workspace
        self.settings = settings or load_settings(workspace.config_dir)
        self.files = SandboxStateFile(workspace.state_dir)
        self.store = StackOutputsStore(self.files.stacks_dir)
        self.sandbox = Sandbox(workspace.state_dir, region=self.settings.env(self.settings.source.name).region)
        self._preview_dir: Path | None = None

    # -- DeployTarget ---------------------------------------------------------------------------------------
    def preflight(self, env: str, layers: list[str]) -> None:
        if importlib.util.find_spec("moto") is None:
            raise DeployError(
                "the local target needs the emulator (moto[server]); install it with "
                "`pip install 'pipeline-infra[sandbox]'` or deploy with --target aws"
            )
        for layer in layers:
            # Raises with the fix (`nox -s build` or change the pin) when the pinned library is not built.
            self.workspace.wheel(self.workspace.pinned_version(layer))

    def run(self, operation: Operation, layer: str, env: str, progress: Progress) -> LayerResult:
        if operation == "deploy":
            return self._deploy(layer, env, progress)
        if operation == "preview":
            return self._preview(layer, env, progress)
        return self._destroy(layer, env, progress)

    def outputs(self, layer: str, env: str) -> dict[str, Any] | None:
        saved = self.store.load(self._project(layer), env)
        return None if saved is None else dict(saved.get("outputs", {}))

    # -- operations -----------------------------------------------------------------------------------------
    def _deploy(self, layer: str, env: str, progress: Progress) -> LayerResult:
        state, started = self.sandbox.up()
        if started:
            progress(ProgressEvent(layer, env, "message", f"sandbox started at {state.endpoint} (pid {state.pid})"))
        saved = self.store.load(self._project(layer), env)
        result = self._run_program(layer, env, "sandbox", state.backend_options(), self.store.root)
        changes = diff_stack(saved, result.resources)
        if changes.stale:
            from pipeline_infra_tools.sandbox.backend import EmulatorBackend

            backend = EmulatorBackend(state.endpoint, state.region, state.access_key_id, state.secret_access_key)
            try:
                regions = provider_regions((saved or {}).get("resources", []))
                for resource in changes.stale:
                    backend.delete(
                        resource["type"], resource["id"], resource["outputs"], regions.get(resource["provider"] or "")
                    )
            finally:
                backend.close()
        self.store.save(result)
        self.files.mark_stack(layer, env, deployed=True)
        # In AWS a rule delivers from the moment it exists; the local runtime's taps are attached now, with
        # the deploy, rather than when the runtime next looks, so no event right after a deploy is missed.
        from pipeline_infra_tools.sandbox.lambda_runtime.process import attach_taps

        attach_taps(self.workspace.state_dir)
        return self._report("deploy", layer, env, result, changes, progress)

    def _preview(self, layer: str, env: str, progress: Progress) -> LayerResult:
        project = self._project(layer)
        preview_store = StackOutputsStore(self._preview_root())
        environment = self.settings.env(env)
        options = {
            "mode": "preview",
            "saved_stack": str(self.store.path(project, env)),
            "account_id": environment.account_id,
            "region": environment.region,
        }
        result = self._run_program(layer, env, "sandbox", options, preview_store.root)
        # Later layers of this preview read these outputs; the real saved stacks stay untouched.
        preview_store.save(result)
        return self._report(
            "preview", layer, env, result, diff_stack(self.store.load(project, env), result.resources), progress
        )

    def _destroy(self, layer: str, env: str, progress: Progress) -> LayerResult:
        project = self._project(layer)
        saved = self.store.load(project, env)
        if saved is None:
            progress(ProgressEvent(layer, env, "message", f"{layer}/{env} is not deployed on the local target"))
            return LayerResult(layer=layer, env=env, operation="destroy")
        resources = deletion_order(saved.get("resources", []))
        status = self.sandbox.status()
        if status.running and status.state is not None:
            from pipeline_infra_tools.sandbox.backend import EmulatorBackend

            state = status.state
            backend = EmulatorBackend(state.endpoint, state.region, state.access_key_id, state.secret_access_key)
            regions = provider_regions(saved.get("resources", []))
            try:
                for resource in resources:
                    backend.delete(
                        resource["type"], resource["id"], resource["outputs"], regions.get(resource["provider"] or "")
                    )
                    progress(ProgressEvent(layer, env, "resource", "delete", resource["type"], resource["name"]))
            finally:
                backend.close()
        else:
            progress(ProgressEvent(layer, env, "message", "the sandbox is not running; its resources are already gone"))
        self.store.delete(project, env)
        self.files.mark_stack(layer, env, deployed=False)
        return LayerResult(
            layer=layer, env=env, operation="destroy", resource_count=len(resources), changes={"delete": len(resources)}
        )

    # -- helpers --------------------------------------------------------------------------------------------
    def _run_program(
        self, layer: str, env: str, backend: str, options: dict[str, Any], references: Path
    ) -> StackResult:
        from pipeline_infra_tools.artifact import function_artifact_path

        artifact = function_artifact_path(self.workspace.root)
        return run_layer(self.workspace, layer, env, backend, options, references, artifact)

    def _report(
        self, operation: Operation, layer: str, env: str, result: StackResult, changes: StackChanges, progress: Progress
    ) -> LayerResult:
        for change in changes.changes:
            progress(ProgressEvent(layer, env, "resource", change.action, change.type, change.name))
        cloud = [r for r in result.resources if is_cloud_resource(r.type)]
        return LayerResult(
            layer=layer,
            env=env,
            operation=operation,
            outputs=result.outputs,
            resource_count=len(cloud),
            changes=changes.counts(),
        )

    def _project(self, layer: str) -> str:
        return self.workspace.project(layer).name

    def _preview_root(self) -> Path:
        """A scratch copy of the saved stacks, so a preview of several layers chains through StackReferences."""
        if self._preview_dir is None:
            self._preview_dir = Path(tempfile.mkdtemp(prefix="pipeline-preview-"))
            if self.store.root.is_dir():
                shutil.copytree(self.store.root, self._preview_dir, dirs_exist_ok=True)
        return self._preview_dir

    def close(self) -> None:
        if self._preview_dir is not None:
            shutil.rmtree(self._preview_dir, ignore_errors=True)
            self._preview_dir = None
