"""A target environment losing its data bucket and config table, and getting them back from its storage stack.

Deleted with the administrator's clients, as an accident would delete them (every version and delete marker,
then the bucket; the table); brought back by the project's own command, `pipeline-infra deploy --env ENV
--layer storage`, as tests/integration/test_restored_environment.py does. What the replicas held is gone.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from tests.integration.helpers import cli
from tests.soak.workload import insist

if TYPE_CHECKING:
    from pathlib import Path

    from tests.soak.workload import Names


def delete_storage(s3: Any, dynamodb: Any, names: Names) -> None:
    """The bucket with every version in it, and the config table, gone."""
    # Listed once: the emulator copies every listed version (see EMULATOR.md), so never in a loop.
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=names.bucket):
        entries = [
            {"Key": entry["Key"], "VersionId": entry["VersionId"]}
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(entries), 1000):
            _delete_objects(s3, names.bucket, {"Objects": entries[start : start + 1000], "Quiet": True})
    insist(lambda: s3.delete_bucket(Bucket=names.bucket), f"delete {names.bucket}")
    insist(lambda: dynamodb.delete_table(TableName=names.config_table), f"delete {names.config_table}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            dynamodb.describe_table(TableName=names.config_table)
        except dynamodb.exceptions.ResourceNotFoundException:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{names.config_table} still exists 30 s after it was deleted")


def _delete_objects(s3: Any, bucket: str, batch: dict[str, Any]) -> None:
    insist(lambda: s3.delete_objects(Bucket=bucket, Delete=batch), f"empty {bucket}")


def redeploy_storage(root: Path, env: str) -> float:
    """`pipeline-infra deploy --env ENV --layer storage` as a user runs it; its seconds."""
    started = time.monotonic()
    completed = cli(root, "deploy", "--env", env, "--layer", "storage")
    if completed.returncode != 0:
        raise RuntimeError(
            f"pipeline-infra deploy --env {env} --layer storage exited {completed.returncode}:\n"
            f"{completed.stdout}\n{completed.stderr}"
        )
    return time.monotonic() - started
