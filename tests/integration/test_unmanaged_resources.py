"""`drift --live` finds what no stack records, run as a user runs it, on the session sandbox.

A bucket named like dev's resources is unmanaged; an inline policy added by hand to a managed dev role is live
drift of that role (the role is managed: what hangs on it is a change to it). Approving the bucket in
approved_differences.yaml turns it into an approved difference. Everything made here is removed afterwards.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from pipeline_infra.naming import Names
from tests.integration.helpers import live_drift, unique

if TYPE_CHECKING:
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


def managed_role(sandbox: DeployedSandbox, env: str) -> str:
    """The physical name of a role the processing stack of `env` records."""
    path = sandbox.workspace.state_dir / "stacks" / "pipeline-infra-processing" / f"{env}.json"
    resources = json.loads(path.read_text(encoding="utf-8"))["resources"]
    return str(next(r["id"] for r in resources if r["type"] == "aws:iam/role:Role"))


def about(report: dict[str, Any], physical: str) -> list[dict[str, Any]]:
    return [d for d in report["differences"] if d["physical"] == physical]


def test_unmanaged_bucket_and_hand_made_policy_are_reported_and_the_bucket_can_be_approved(
    sandbox: DeployedSandbox,
) -> None:
    s3, iam = sandbox.client("s3"), sandbox.client("iam")
    root = sandbox.workspace.root
    approved_file = sandbox.workspace.config_dir / "approved_differences.yaml"
    approved_text = approved_file.read_text(encoding="utf-8")
    token = Names(sandbox.settings.project, sandbox.settings.env("dev")).name_token
    bucket, role, policy = f"{unique('scratch')}{token}", managed_role(sandbox, "dev"), unique("by-hand")
    try:
        # GIVEN a bucket named like dev's resources and an inline policy on dev's role, both made outside the code
        s3.create_bucket(Bucket=bucket)
        iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=POLICY)
        # WHEN the user runs the live drift report for dev
        code, report = live_drift(root, "dev")
        # THEN both are drift of dev, the bucket as unmanaged and the policy as a change to its role
        [found_bucket] = about(report, bucket)
        assert (found_bucket["category"], found_bucket["kind"], found_bucket["environment"]) == (
            "unmanaged",
            "extra",
            "dev",
        )
        assert (found_bucket["type"], found_bucket["resource"], found_bucket["status"]) == (
            "aws:s3/bucket:Bucket",
            bucket,
            "drift",
        )
        assert "named like the project's dev resources" in found_bucket["note"]
        [found_policy] = about(report, f"{role}/{policy}")
        assert (found_policy["category"], found_policy["kind"], found_policy["environment"]) == ("live", "extra", "dev")
        # An extra on a managed role is that role's live drift, found by reading the role back.
        assert (found_policy["layer"], found_policy["type"]) == ("processing", "aws:iam/role:Role")
        assert found_policy["resource"].endswith("-role"), found_policy
        assert found_policy["status"] == "drift"
        assert report["summary"]["compared"]["unmanaged"] > 0
        # Nothing the sandbox keeps for itself (its tap queues, its doorbell) is taken for the project's.
        sandbox_own = [d["resource"] for d in report["differences"] if str(d["resource"]).startswith("sandbox-")]
        assert sandbox_own == []
        assert code == 1

        # GIVEN the bucket approved under `unmanaged`
        approved_file.write_text(
            approved_text
            + f'unmanaged:\n  - {{type: "aws:s3/bucket:Bucket", name: "scratch-*{token}", reason: scratch space}}\n',
            encoding="utf-8",
        )
        # WHEN the report runs again
        code, report = live_drift(root, "dev")
        # THEN the bucket is approved with its reason, and the hand-made policy is still drift
        [found_bucket] = about(report, bucket)
        assert found_bucket["status"] == "approved"
        assert found_bucket["approval"]["reason"] == "scratch space"
        assert found_bucket["repair"] == ""
        [found_policy] = about(report, f"{role}/{policy}")
        assert found_policy["status"] == "drift"
        assert code == 1
    finally:
        approved_file.write_text(approved_text, encoding="utf-8")
        # What a failed step did not make is not there to remove.
        with suppress(ClientError):
            iam.delete_role_policy(RoleName=role, PolicyName=policy)
        with suppress(ClientError):
            s3.delete_bucket(Bucket=bucket)
