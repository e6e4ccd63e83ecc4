"""The drift command end to end (rendering from the session), its formats, exit codes and live comparison."""

from __future__ import annotations

import copy
import importlib
import json
import shutil
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra_tools.cli import main
from pipeline_infra_tools.drift import (
    SCHEMA,
    Category,
    Difference,
    DriftReport,
    FailOn,
    Kind,
    Status,
    compare_deployed,
    render_report,
)
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

Documents = dict[tuple[str, str], dict[str, Any]]

PUBLIC_API = {
    "SCHEMA", "Approval", "Category", "Difference", "DriftError", "DriftReport", "DriftRequest", "DriftUsageError",
    "EnvTokens", "FailOn", "Kind", "LiveStateError", "Normaliser", "Status", "check_rule",
    "compare_data", "compare_deployed", "compare_settings", "compare_structure", "find_approval", "find_unmanaged",
    "judge",
    "path_matches", "read_sandbox", "render_report", "rendered_documents", "run_drift", "select_environments",
    "to_json",
}  # fmt: skip


@pytest.fixture(scope="module")
def documents(rendered: dict[tuple[str, str], Any]) -> Documents:
    return {key: stack.result.to_json() for key, stack in rendered.items()}


@pytest.fixture
def from_session(monkeypatch: pytest.MonkeyPatch, documents: Documents) -> Documents:
    """The command renders from the session's documents instead of starting programs again."""
    served = copy.deepcopy(documents)

    def rendered_documents(workspace: Any, settings: Any, wanted: Any, use_cache: bool = True) -> Documents:
        missing = [stack for stack in wanted if stack not in served]
        assert not missing, f"not rendered in this session: {missing}"
        return {stack: served[stack] for stack in wanted}

    monkeypatch.setattr("pipeline_infra_tools.drift.runner.rendered_documents", rendered_documents)
    monkeypatch.chdir(ROOT)
    return served


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["drift", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_public_api_is_pinned() -> None:
    assert set(importlib.import_module("pipeline_infra_tools.drift").__all__) == PUBLIC_API


def test_shipped_settings_exit_0_and_list_the_approved_differences(
    capsys: pytest.CaptureFixture[str], from_session: Documents
) -> None:
    code, out, _ = run_cli(capsys, "--format", "json")
    report = json.loads(out)
    assert code == 0, [d for d in report["differences"] if d["status"] == "drift"]
    assert report["schema"] == SCHEMA
    assert report["has_drift"] is False and report["summary"]["drift"] == 0
    assert report["summary"]["approved"] == len(report["differences"]) > 0
    assert {d["category"] for d in report["differences"]} == {"settings", "structure"}
    first = report["differences"][0]
    assert set(first) == {
        "category", "kind", "baseline", "environment", "layer", "resource", "type", "path", "values", "absent",
        "status", "approval", "rule_result", "note", "repair", "physical",
    }  # fmt: skip


def test_drift_exits_1_and_the_table_says_how_to_repair(
    capsys: pytest.CaptureFixture[str], from_session: Documents
) -> None:
    # GIVEN staging's rendering with versioning suspended
    versioning = next(r for r in from_session[("storage", "staging")]["resources"] if r["name"] == "data-versioning")
    versioning["inputs"]["versioningConfiguration"]["status"] = "Suspended"
    # WHEN drift runs with the default table, and with --fail-on never
    code, out, _ = run_cli(capsys)
    never, _, _ = run_cli(capsys, "--fail-on", "never")
    # THEN it fails, shows the drift first and names the repair
    assert (code, never) == (1, 0)
    lines = out.splitlines()
    assert lines[0].startswith("DRIFT: ")
    assert lines[3].startswith("DRIFT") and "versioningConfiguration.status" in lines[3]
    assert "pipeline-infra deploy --env staging --layer storage" in out.split("To repair the drift:")[1]


def test_markdown_is_a_pull_request_comment(capsys: pytest.CaptureFixture[str], from_session: Documents) -> None:
    code, out, _ = run_cli(capsys, "--format", "markdown", "--env", "dev", "--env", "prod")
    assert code == 0
    assert out.startswith("### No drift: dev, prod against prod")
    assert "<details><summary>Approved differences (" in out and "| `memorySize` |" in out


def test_fail_on_any_counts_approved_differences(capsys: pytest.CaptureFixture[str], from_session: Documents) -> None:
    code, _, _ = run_cli(capsys, "--fail-on", "any", "--format", "json")
    assert code == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--env", "qa"], "unknown environment(s) ['qa']"),
        (["--env", "dev"], "give two or more --env"),
    ],
)
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], from_session: Documents, argv: list[str], message: str
) -> None:
    code, out, err = run_cli(capsys, *argv)
    assert (code, out) == (2, "")
    assert message in err


def test_live_without_a_sandbox_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "projects").mkdir()
    shutil.copytree(ROOT / "shared_config", tmp_path / "shared_config")
    monkeypatch.setenv("PIPELINE_ROOT", str(tmp_path))
    code, _, err = run_cli(capsys, "--live")
    assert code == 2
    assert "no sandbox running: run `pipeline-infra sandbox up`" in err


def test_deployed_stack_against_its_code(documents: Documents) -> None:
    # GIVEN dev's deployed processing stack with a hand-changed timeout and a deleted permission
    rendered = documents[("processing", "dev")]
    deployed = copy.deepcopy(rendered)
    function = next(r for r in deployed["resources"] if r["name"] == "processing-validator-function")
    function["inputs"]["timeout"] = 30
    deployed["resources"] = [r for r in deployed["resources"] if r["name"] != "processing-raw-uploads-invoke"]
    # WHEN it is compared with the rendering
    differences = compare_deployed("dev", "processing", rendered, deployed)
    # THEN both are live drift repaired by redeploying that layer
    assert sorted((d.kind, d.resource, d.path) for d in differences) == [
        (Kind.MISSING, "processing-raw-uploads-invoke", "(resource)"),
        (Kind.VALUE, "processing-validator-function", "timeout"),
    ]
    assert {d.repair for d in differences} == {"pipeline-infra deploy --env dev --layer processing"}
    assert all(d.category is Category.LIVE and d.status is Status.DRIFT for d in differences)
    assert compare_deployed("dev", "processing", rendered, copy.deepcopy(rendered)) == []
    (unchecked,) = compare_deployed("dev", "processing", rendered, None)
    assert unchecked.kind is Kind.UNCHECKED and unchecked.status is Status.DRIFT


def test_exit_codes_follow_fail_on() -> None:
    approved = Difference(Category.SETTINGS, Kind.VALUE, "prod", "dev", "name", status=Status.APPROVED)
    drift = Difference(Category.DATA, Kind.MISSING, "prod", "dev", "(whole)", repair="pipeline-infra resync")
    clean = DriftReport(("dev", "prod"), "prod", False, (approved,))
    dirty = DriftReport(("dev", "prod"), "prod", True, (approved, drift))
    assert [clean.exit_code(f) for f in FailOn] == [0, 1, 0]
    assert [dirty.exit_code(f) for f in FailOn] == [1, 1, 0]
    assert json.loads(render_report(dirty, "json"))["repairs"] == ["pipeline-infra resync"]
