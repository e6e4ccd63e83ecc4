"""One sandbox for the integration session: a copy of the workspace, every environment deployed to it once."""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.deploy.local_target import LocalTarget
from pipeline_infra_tools.deploy.orchestrator import Orchestrator
from pipeline_infra_tools.workspace import Workspace
from tests.conftest import ROOT, build_library_wheel

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.deploy.base import LayerResult, Operation, ProgressEvent
    from pipeline_infra_tools.sandbox.state import SandboxState

ENVIRONMENTS = ("dev", "staging", "prod")
# What a program needs from the repository: its projects, settings and the function sources for the artifact.
WORKSPACE_PARTS = ("projects", "shared_config", "packages/pipeline_functions")


@dataclass
class DeployedSandbox:
    """The deployed workspace, the emulator's clients and what each run reported."""

    workspace: Workspace
    settings: Settings
    target: LocalTarget
    state: SandboxState
    clients: dict[str, Any]
    results: dict[str, list[LayerResult]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = boto3.client(
                service,
                endpoint_url=self.state.endpoint,
                region_name=self.state.region,
                aws_access_key_id=self.state.access_key_id,
                aws_secret_access_key=self.state.secret_access_key,
            )
        return self.clients[service]

    def run(self, operation: Operation, env: str, layers: list[str] | None = None) -> list[LayerResult]:
        events: list[ProgressEvent] = []
        return Orchestrator(self.workspace, self.settings, self.target).execute(operation, env, layers, events.append)

    def outputs(self, layer: str, env: str) -> dict[str, Any]:
        outputs = self.target.outputs(layer, env)
        assert outputs is not None, f"{layer}/{env} has no saved outputs under {self.target.store.root}"
        return outputs


def copy_workspace(destination: Path) -> Workspace:
    for part in WORKSPACE_PARTS:
        shutil.copytree(
            ROOT / part, destination / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pipeline")
        )
    build_library_wheel(ROOT / "packages" / "pipeline_infra", destination / "dist")
    return Workspace(destination)


SHARED_SANDBOX_GROUP = "shared-sandbox"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that judge the whole sandbox's health run before any other leaves failures, alarms or drift behind;
    tests that tear the shared sandbox down run after every test that needs it deployed.

    Run on several workers (`-n 2 --dist loadgroup`, as `nox -s tests` does), every test of the shared sandbox
    is one group, run in this order on one worker, while each module with a sandbox of its own (a profile, a
    fresh workspace) is a group that runs beside it on another."""

    def place(item: pytest.Item) -> int:
        if item.get_closest_marker("quiet_sandbox") is not None:
            return 0
        return 2 if item.get_closest_marker("destroys_sandbox") is not None else 1

    items.sort(key=place)
    for item in items:
        shared = "sandbox" in getattr(item, "fixturenames", ())
        item.add_marker(pytest.mark.xdist_group(SHARED_SANDBOX_GROUP if shared else item.module.__name__))


@contextmanager
def deployed_sandbox(
    workspace: Workspace, layers: Callable[[str], list[str] | None] = lambda _env: None
) -> Iterator[DeployedSandbox]:
    """A fresh sandbox for `workspace` with every environment deployed (`layers(env)` narrows one); stopped after."""
    settings = load_settings(workspace.config_dir)
    target = LocalTarget(workspace, settings)
    try:
        state, _ = target.sandbox.up()
        deployed = DeployedSandbox(workspace, settings, target, state, clients={})
        # dev and staging first: prod's storage and replication read their storage.
        for env in ENVIRONMENTS:
            started = time.perf_counter()
            deployed.results[env] = deployed.run("deploy", env, layers(env))
            deployed.seconds[env] = time.perf_counter() - started
        yield deployed
    finally:
        target.sandbox.down()
        target.close()


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedSandbox]:
    """Every environment deployed from scratch to a fresh sandbox; the sandbox is stopped at the end."""
    with deployed_sandbox(copy_workspace(tmp_path_factory.mktemp("workspace"))) as deployed:
        yield deployed
