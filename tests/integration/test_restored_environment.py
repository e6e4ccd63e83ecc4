"""A lower environment whose storage was lost and redeployed empty, brought back by the repairs `drift` prints.

Runs on a sandbox of its own (dev, staging and prod deployed from a copy of the workspace): losing dev's
storage is something no test on the shared session sandbox could survive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from botocore.exceptions import ClientError

from pipeline_functions.replicator.items import REPLICA_ATTRIBUTES, to_dynamodb
from tests.integration.conftest import copy_workspace, deployed_sandbox
from tests.integration.helpers import (
    cli,
    cli_json,
    live_drift,
    overlay_level,
    run_repair,
    unique,
    wait_for_item,
    wait_for_object,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration
RESTORED = "dev"
STORAGE_REPAIR = f"pipeline-infra deploy --env {RESTORED} --layer storage"
RESYNC_REPAIR = f"pipeline-infra resync --from prod --to {RESTORED}"


@pytest.fixture(scope="module")
def restored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedSandbox]:
    with deployed_sandbox(copy_workspace(tmp_path_factory.mktemp("restored-environment"))) as deployed:
        yield deployed


@dataclass(frozen=True)
class ProdData:
    """Config objects and items written in prod, and what each must be in the restored environment."""

    prod_names: tuple[str, ...]  # prod's bucket and table: no replica may name them
    objects: dict[str, Callable[[bytes], bool]]  # key -> whether a replica's body is prod's rewritten
    items: dict[str, tuple[dict[str, Any], dict[str, Any]]]  # identifier -> (key, the replica without metadata)

    def resources(self) -> list[str]:
        """Object keys and item identifiers, as drift and resync name them."""
        return sorted([*self.objects, *self.items])


def write_prod_data(sandbox: DeployedSandbox) -> ProdData:
    """Three config objects (JSON, YAML, properties) and two config items naming prod's bucket and table."""
    s3, dynamodb = sandbox.client("s3"), sandbox.client("dynamodb")
    prod, target = sandbox.outputs("storage", "prod"), sandbox.outputs("storage", RESTORED)
    run = unique("restore")

    def document(outputs: dict[str, Any]) -> dict[str, Any]:
        return {"input": f"s3://{outputs['bucket_name']}/raw/", "table": outputs["config_table_name"]}

    def properties(outputs: dict[str, Any]) -> bytes:
        return f"data.bucket={outputs['bucket_name']}\nconfig.table={outputs['config_table_name']}\n".encode()

    def items(outputs: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"pk": f"pipeline#{run}", "sk": "v1", "bucket": outputs["bucket_name"], "retries": 3},
            {"pk": f"pipeline#{run}", "sk": "v2", **document(outputs)},
        ]

    replica = {**document(target), "logging": {"level": overlay_level(sandbox, RESTORED)}}
    bodies: dict[str, tuple[bytes, Callable[[bytes], bool]]] = {
        f"config/{run}/pipeline.json": (json.dumps(document(prod)).encode(), lambda b: json.loads(b) == replica),
        f"config/{run}/pipeline.yaml": (
            yaml.safe_dump(document(prod)).encode(),
            lambda b: yaml.safe_load(b) == replica,
        ),
        f"config/{run}/app.properties": (properties(prod), lambda b: b == properties(target)),
    }
    for key, (body, _) in bodies.items():
        s3.put_object(Bucket=prod["bucket_name"], Key=key, Body=body)
    for item in items(prod):
        dynamodb.put_item(TableName=prod["config_table_name"], Item=to_dynamodb(item))
    return ProdData(
        prod_names=(prod["bucket_name"], prod["config_table_name"]),
        objects={key: accept for key, (_, accept) in bodies.items()},
        items={
            json.dumps({"pk": want["pk"], "sk": want["sk"]}, sort_keys=True): (
                {"pk": want["pk"], "sk": want["sk"]},
                want,
            )
            for want in items(target)
        },
    )


def assert_replicated(sandbox: DeployedSandbox, data: ProdData) -> None:
    """Every object and item is (or becomes, within the deadline) prod's rewritten for the restored environment."""
    s3, dynamodb = sandbox.client("s3"), sandbox.client("dynamodb")
    target = sandbox.outputs("storage", RESTORED)
    for key, accept in data.objects.items():
        replica = wait_for_object(s3, target["bucket_name"], key, lambda o, accept=accept: accept(o.body))
        assert not any(name.encode() in replica.body for name in data.prod_names), (key, replica.body)
    for key, expected in data.items.values():
        found = wait_for_item(dynamodb, target["config_table_name"], to_dynamodb(key))
        assert {k: v for k, v in found.items() if k not in REPLICA_ATTRIBUTES} == expected
        assert not any(name in json.dumps(found, default=str) for name in data.prod_names), found


def storage_differences(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's differences about the restored environment's storage stack and its data."""
    return [
        d
        for d in report["differences"]
        if d["environment"] == RESTORED and d["layer"] == "storage" and d["category"] in ("live", "data")
    ]


def bucket_exists(s3: Any, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        return False
    return True


def table_exists(dynamodb: Any, table: str) -> bool:
    try:
        dynamodb.describe_table(TableName=table)
    except dynamodb.exceptions.ResourceNotFoundException:
        return False
    return True


def test_lost_dev_storage_is_redeployed_and_resynced_by_the_printed_repairs(restored: DeployedSandbox) -> None:
    root = restored.workspace.root
    s3, dynamodb = restored.client("s3"), restored.client("dynamodb")
    target = restored.outputs("storage", RESTORED)
    # GIVEN three config objects (JSON, YAML, properties) and two config items in prod, replicated to dev
    data = write_prod_data(restored)
    assert_replicated(restored, data)

    # WHEN an operator asks the command line to destroy dev's storage
    refused = cli(root, "destroy", "--env", RESTORED, "--layer", "storage")
    # THEN it refuses, because prod's storage and replication read it: following its order would destroy prod's
    # own storage and data, so the loss is made the way the command makes it, without that check
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"cannot destroy storage of {RESTORED}" in refused.stderr, refused.stderr
    assert "pipeline-infra destroy --env prod --layer storage" in refused.stderr, refused.stderr
    assert bucket_exists(s3, target["bucket_name"]), "a refused destroy deleted dev's bucket"
    restored.target.run("destroy", "storage", RESTORED, lambda _event: None)
    assert not bucket_exists(s3, target["bucket_name"])
    assert not table_exists(dynamodb, target["config_table_name"])

    # WHEN the live drift report is asked for
    code, report = live_drift(root, RESTORED)
    # THEN it reports dev's storage stack as not deployed, repaired by deploying it
    assert code == 1, report["summary"]
    [stack] = [d for d in storage_differences(report) if d["category"] == "live"]
    assert (stack["kind"], stack["status"], stack["note"]) == ("unchecked", "drift", "stack not deployed"), stack
    assert stack["repair"] == STORAGE_REPAIR
    assert STORAGE_REPAIR in report["repairs"]
    # WHEN that repair line is run as printed
    deployed = run_repair(root, stack["repair"])
    # THEN dev's storage is deployed again: no live difference, and the data can be compared again
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    _, report = live_drift(root, RESTORED)
    assert [d for d in storage_differences(report) if d["category"] == "live" or d["kind"] == "unchecked"] == []
    # AND the redeployed bucket and table are empty: everything dev held is lost
    versions = s3.list_object_versions(Bucket=target["bucket_name"])
    assert versions.get("Versions", []) + versions.get("DeleteMarkers", []) == []
    assert dynamodb.scan(TableName=target["config_table_name"], ConsistentRead=True)["Items"] == []
    # AND the report finds each of prod's objects and items missing in dev, repaired by a resync
    assert sorted((d["resource"], d["kind"], d["repair"]) for d in storage_differences(report)) == [
        (resource, "missing", RESYNC_REPAIR) for resource in data.resources()
    ]

    # WHEN prod is resynced to dev
    completed = cli(root, "resync", "--from", "prod", "--to", RESTORED, "--format", "json")
    # THEN exactly the three objects and two items are copied, and nothing is left different
    assert completed.returncode == 0, completed.stdout + completed.stderr
    resynced = cli_json(completed)
    assert resynced["ok"] is True and resynced["failed"] == [], resynced
    assert (resynced["differences"], resynced["copied"], resynced["deleted"], resynced["remaining"]) == (5, 5, 0, 0)
    assert sorted((c["change"], c["outcome"]) for c in resynced["changes"]) == sorted(
        [(f"object {key}", "replicated") for key in data.objects]
        + [(f"item {identifier}", "replicated") for identifier in data.items]
    )
    # AND every replica is prod's rewritten for dev, naming none of prod's resources
    assert_replicated(restored, data)
    # AND the live drift report has no data drift for dev any more
    _, report = live_drift(root, RESTORED)
    drift = [d for d in report["differences"] if d["category"] == "data" and d["status"] == "drift"]
    assert drift == [], drift
