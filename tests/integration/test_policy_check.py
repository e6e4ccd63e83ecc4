"""`pipeline-infra policy check`, run as a user runs it in a workspace (offline: no sandbox, no cloud)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import yaml

from pipeline_infra.layers import LAYERS
from pipeline_infra_tools.guardrails import RULES
from tests.integration.conftest import copy_workspace
from tests.integration.helpers import cli

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline_infra_tools.workspace import Workspace


def test_the_shipped_prod_passes_every_guardrail(workspace: Workspace) -> None:
    completed = cli(workspace.root, "policy", "check", "--env", "prod")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = completed.stdout
    # Every rule is listed with what it judged, every stack of prod with its resources.
    for rule in RULES:
        assert re.search(rf"^  {re.escape(rule.name)} +\d+ +0  ", report, re.MULTILINE), (rule.name, report)
    for layer in LAYERS:
        assert re.search(rf"^  pipeline-infra-{layer}/prod: \d+ resources$", report, re.MULTILINE), report
    summary = re.search(r"(\d+) rules, (\d+) resources in 4 stack\(s\)", report)
    assert summary is not None, report
    assert int(summary.group(1)) == len(RULES)
    assert int(summary.group(2)) > 40
    assert report.rstrip().endswith("no violations in env prod")


def test_a_bucket_settings_keep_from_destroy_fails_the_check(tmp_path: Path) -> None:
    # GIVEN a copy of the workspace whose prod settings no longer let destroy empty the data bucket
    root = copy_workspace(tmp_path / "workspace").root
    prod_file = root / "shared_config" / "prod.yaml"
    prod = yaml.safe_load(prod_file.read_text())
    prod.setdefault("storage", {})["force_destroy"] = False
    prod_file.write_text(yaml.safe_dump(prod))
    # WHEN the check runs there, for people and for CI
    table = cli(root, "policy", "check", "--env", "prod", "--layer", "storage")
    as_json = cli(root, "policy", "check", "--env", "prod", "--format", "json")
    # THEN both exit 1 and name the rule, the resource, the environment and the reason
    assert table.returncode == 1, table.stdout + table.stderr
    line = "FAIL destroyable [prod] aws:s3/bucket:Bucket data-bucket (urn:pulumi:prod::pipeline-infra-storage::"
    assert line in table.stdout, table.stdout
    assert "1 violation(s) in env prod" in table.stdout
    assert as_json.returncode == 1, as_json.stdout + as_json.stderr
    [violation] = json.loads(as_json.stdout)
    bucket = "pipeline-infra:storage:DataBucket$aws:s3/bucket:Bucket::data-bucket"
    assert violation == {
        "rule": "destroyable",
        "environment": "prod",
        "type": "aws:s3/bucket:Bucket",
        "name": "data-bucket",
        "urn": f"urn:pulumi:prod::pipeline-infra-storage::{bucket}",
        "reason": "forceDestroy is not true, so `destroy` fails while the bucket holds objects",
    }


def test_a_layer_without_a_stack_is_a_usage_error(workspace: Workspace) -> None:
    completed = cli(workspace.root, "policy", "check", "--env", "dev", "--layer", "replication")
    assert completed.returncode == 2
    assert "env dev has no stack of layer(s) replication" in completed.stderr
