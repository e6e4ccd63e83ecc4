"""Live drift from what the cloud holds, and deploys that repair it and touch nothing else, on the session sandbox.

One out-of-band change per resource type (tests/integration/out_of_band.py) is made by hand; `drift --live`
reports each as a row naming the resource, its AWS name, the property, the code's and the live value and the
repair; running the repairs exactly as printed puts everything back, and a second `drift --live` is clean.
A deploy with nothing to change makes no write call at the emulator. The sandbox is shared by the session:
what a test changes is undone before it ends.
"""

from __future__ import annotations

import json
from contextlib import ExitStack, suppress
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.emulator.request_counts import (
    administrator_writes,
    request_counts,
    reset_request_counts,
)
from tests.integration.helpers import cli, cli_json, run_repair
from tests.integration.out_of_band import OUT_OF_BAND, Record

if TYPE_CHECKING:
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration


def saved_record(sandbox: DeployedSandbox, type_: str, env: str, name: str) -> tuple[str, Record]:
    """(layer project, record) of a deployed resource, from the local target's saved stacks."""
    for path in sorted(sandbox.target.store.root.glob(f"*/{env}.json")):
        for record in json.loads(path.read_text(encoding="utf-8"))["resources"]:
            if (record["type"], record["name"]) == (type_, name):
                return path.parent.name, record
    raise AssertionError(f"{env} records no {type_} named {name!r}")


def live_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [row for row in report["differences"] if row["category"] == "live"]


def drift_report(sandbox: DeployedSandbox, *envs: str) -> tuple[int, dict[str, Any]]:
    arguments = [argument for env in envs for argument in ("--env", env)]
    completed = cli(sandbox.workspace.root, "drift", "--live", *arguments, "--format", "json")
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    return completed.returncode, cli_json(completed)


def test_every_out_of_band_change_is_live_drift_and_running_its_repair_puts_it_back(sandbox: DeployedSandbox) -> None:
    envs = sorted({case.env for case in OUT_OF_BAND})
    # GIVEN the deployed environments read back clean
    _, before = drift_report(sandbox, *envs)
    assert live_rows(before) == [], live_rows(before)
    records = {case.name: saved_record(sandbox, case.type_, case.env, case.name)[1] for case in OUT_OF_BAND}
    with ExitStack() as undo:
        # WHEN one property of each resource type is changed by hand (one permission removed)
        for case in OUT_OF_BAND:
            undo.enter_context(_tolerant(case.change(sandbox, records[case.name])))
        code, report = drift_report(sandbox, *envs)
        # THEN each is a drift row with the logical and AWS names, the path, both values and the repair
        assert code == 1
        rows = live_rows(report)
        for case in OUT_OF_BAND:
            record = records[case.name]
            mine = [row for row in rows if row["resource"] == case.name and row["environment"] == case.env]
            assert mine, f"{case.type_} {case.name}: no live row in {[(r['resource'], r['path']) for r in rows]}"
            [row] = mine
            assert row["status"] == "drift" and row["type"] == case.type_
            assert row["physical"] == record["id"]
            assert row["repair"].startswith(f"pipeline-infra deploy --env {case.env} --layer "), row
            if case.path is None:
                assert row["kind"] == "missing" and "deleted outside the tool" in row["note"], row
            else:
                assert (row["kind"], row["path"]) == ("value", case.path), row
                assert row["values"]["code"] != row["values"].get(case.env), row
        assert len(rows) == len(OUT_OF_BAND), [(r["resource"], r["path"]) for r in rows]
        # WHEN the repairs are run exactly as printed
        repaired: list[str] = []
        for command in report["repairs"]:
            completed = run_repair(sandbox.workspace.root, command)
            assert completed.returncode == 0, f"{command}:\n{completed.stdout}\n{completed.stderr}"
            repaired += [line for line in completed.stdout.splitlines() if "repaired: " in line]
        # THEN each deploy said what it put back, and nothing is left to repair
        for case in OUT_OF_BAND:
            assert any(f" {case.name} " in line for line in repaired), f"{case.name} not in {repaired}"
        code, after = drift_report(sandbox, *envs)
        assert live_rows(after) == [], live_rows(after)
        assert code == 0, [row for row in after["differences"] if row["status"] == "drift"]


def _tolerant(change: Any) -> Any:
    """The change's context; its undo, run after the repairs, puts back what they already did (or, when the test
    failed before them, what is still changed)."""

    class Undo:
        def __enter__(self) -> None:
            change.__enter__()

        def __exit__(self, *exc: object) -> None:
            with suppress(ClientError):
                change.__exit__(None, None, None)

    return Undo()


def test_a_deploy_with_nothing_to_change_makes_no_write_call(sandbox: DeployedSandbox) -> None:
    # GIVEN dev deployed and unchanged since
    root, endpoint = sandbox.workspace.root, sandbox.state.endpoint
    assert cli(root, "deploy", "--env", "dev", "--quiet").returncode == 0
    reset_request_counts(endpoint)
    # WHEN it is deployed again
    completed = cli(root, "deploy", "--env", "dev", "--format", "json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    # THEN every resource is the same, the emulator saw reads and no write from the deploy
    document = cli_json(completed)
    for stack in document["stacks"]:
        assert stack["resources"] == [], stack["resources"]
        assert stack["changes"]["same"] == stack["resource_count"] > 0, stack
    counts = request_counts(endpoint)
    assert administrator_writes(counts) == []
    assert counts["summary"]["administrator"]["reads"] > 0  # the refresh read every resource back
