"""Deploy orchestration on a fake target: layer order, preconditions, skipped layers, reverse destroy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.deploy.base import LayerResult, ProgressEvent
from pipeline_infra_tools.deploy.orchestrator import Orchestrator, make_target, target_name
from pipeline_infra_tools.exceptions import DeployError
from pipeline_infra_tools.workspace import Workspace

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.deploy.base import Operation

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class FakeTarget:
    """Remembers what ran; `deployed` holds the (layer, env) stacks that exist."""

    name: str = "local"
    deployed: set[tuple[str, str]] = field(default_factory=set)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    preflights: list[tuple[str, list[str]]] = field(default_factory=list)

    def preflight(self, env: str, layers: list[str]) -> None:
        self.preflights.append((env, list(layers)))

    def run(self, operation: Operation, layer: str, env: str, progress: Callable[[ProgressEvent], None]) -> LayerResult:
        self.calls.append((operation, layer, env))
        progress(ProgressEvent(layer, env, "resource", "create", "aws:s3/bucket:Bucket", f"{layer}-thing"))
        if operation == "deploy":
            self.deployed.add((layer, env))
        elif operation == "destroy":
            self.deployed.discard((layer, env))
        return LayerResult(layer=layer, env=env, operation=operation, outputs={"layer": layer}, changes={"create": 1})

    def outputs(self, layer: str, env: str) -> dict[str, Any] | None:
        return {"layer": layer} if (layer, env) in self.deployed else None


@pytest.fixture(scope="module")
def repo() -> Workspace:
    return Workspace(ROOT)


@pytest.fixture(scope="module")
def repo_settings(repo: Workspace) -> Settings:
    return load_settings(repo.config_dir)


def run(
    orchestrator: Orchestrator, operation: Operation, env: str, layers: list[str] | None = None
) -> list[ProgressEvent]:
    events: list[ProgressEvent] = []
    orchestrator.execute(operation, env, layers, events.append)
    return events


def test_deploy_runs_layers_in_dependency_order(repo: Workspace, repo_settings: Settings) -> None:
    # GIVEN dev and staging storage already deployed
    target = FakeTarget(deployed={("storage", "dev"), ("storage", "staging")})
    # WHEN prod is deployed
    run(Orchestrator(repo, repo_settings, target), "deploy", "prod")
    # THEN every prod layer ran once, upstream first
    assert target.calls == [
        ("deploy", "storage", "prod"),
        ("deploy", "notifications", "prod"),
        ("deploy", "processing", "prod"),
        ("deploy", "replication", "prod"),
    ]
    assert target.preflights == [("prod", ["storage", "notifications", "processing", "replication"])]


def test_layer_without_a_stack_for_the_env_is_skipped(repo: Workspace, repo_settings: Settings) -> None:
    target = FakeTarget()
    events = run(Orchestrator(repo, repo_settings, target), "deploy", "dev")
    assert [layer for _, layer, _ in target.calls] == ["storage", "notifications", "processing"]
    skipped = [e for e in events if e.kind == "message" and "skipped" in e.message]
    assert [e.layer for e in skipped] == ["replication"]


def test_replication_without_lower_storage_stops_before_anything_changes(
    repo: Workspace, repo_settings: Settings
) -> None:
    # GIVEN only prod's own stacks exist
    target = FakeTarget(deployed={("storage", "prod"), ("notifications", "prod")})
    # WHEN prod's replication layer alone is deployed
    with pytest.raises(DeployError) as caught:
        run(Orchestrator(repo, repo_settings, target), "deploy", "prod", ["replication"])
    # THEN nothing ran and the message names the missing stacks and the commands that create them
    assert target.calls == []
    message = str(caught.value)
    assert "storage/dev" in message and "storage/staging" in message
    assert "pipeline-infra deploy --env dev --layer storage --target local" in message
    assert "pipeline-infra deploy --env staging --layer storage --target local" in message


def test_upstream_deployed_earlier_in_the_same_run_satisfies_the_precondition(
    repo: Workspace, repo_settings: Settings
) -> None:
    target = FakeTarget()
    run(Orchestrator(repo, repo_settings, target), "deploy", "dev", ["processing", "storage", "notifications"])
    assert [layer for _, layer, _ in target.calls] == ["storage", "notifications", "processing"]


def test_single_layer_needs_its_own_env_upstreams(repo: Workspace, repo_settings: Settings) -> None:
    target = FakeTarget(deployed={("storage", "dev")})
    with pytest.raises(DeployError, match=r"notifications/dev"):
        run(Orchestrator(repo, repo_settings, target), "deploy", "dev", ["processing"])


def test_destroy_runs_in_reverse_order(repo: Workspace, repo_settings: Settings) -> None:
    target = FakeTarget(deployed={(layer, "staging") for layer in ("storage", "notifications", "processing")})
    run(Orchestrator(repo, repo_settings, target), "destroy", "staging")
    assert [layer for _, layer, _ in target.calls] == ["processing", "notifications", "storage"]


def test_destroy_of_a_stack_another_stack_reads_is_refused(repo: Workspace, repo_settings: Settings) -> None:
    # GIVEN prod's replication reads dev's storage
    target = FakeTarget(deployed={("storage", "dev"), ("storage", "staging"), ("replication", "prod")})
    # WHEN dev is destroyed
    with pytest.raises(DeployError) as caught:
        run(Orchestrator(repo, repo_settings, target), "destroy", "dev")
    # THEN nothing ran and the message says which stack to destroy first
    assert target.calls == []
    assert "pipeline-infra destroy --env prod --layer replication --target local" in str(caught.value)


def test_progress_reports_layers_and_resources(repo: Workspace, repo_settings: Settings) -> None:
    events = run(Orchestrator(repo, repo_settings, FakeTarget()), "deploy", "dev", ["storage"])
    assert [e.kind for e in events] == ["layer-started", "resource", "layer-finished"]
    assert events[-1].message == "deploy storage/dev: 1 create"


def test_target_comes_from_flag_then_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPELINE_TARGET", raising=False)
    assert target_name(None) == "local"
    monkeypatch.setenv("PIPELINE_TARGET", "aws")
    assert target_name(None) == "aws"
    assert target_name("local") == "local"
    with pytest.raises(DeployError, match="expected one of"):
        target_name("gcp")


def test_local_target_is_built_by_name(repo: Workspace, repo_settings: Settings) -> None:
    assert make_target("local", repo, repo_settings).name == "local"
