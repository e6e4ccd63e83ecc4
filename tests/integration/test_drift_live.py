"""`drift --live` on the session sandbox: prod's replicated configuration against dev and staging.

Each test writes prod's data, lets the local runtime's replicator copy it to every target, then changes one
thing in a target.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_functions.replicator.items import to_dynamodb
from pipeline_infra_tools.drift import Category, DriftRequest, FailOn, Kind, Status, run_drift
from pipeline_infra_tools.drift.live import compare_data

if TYPE_CHECKING:
    from pipeline_infra_tools.drift import Difference
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration

OBJECT_PREFIX = "config/drift-live/"
REPLICATION_DEADLINE_SECONDS = 30


def storage(sandbox: DeployedSandbox, env: str) -> dict[str, Any]:
    return sandbox.outputs("storage", env)


def prod_document(sandbox: DeployedSandbox) -> dict[str, Any]:
    prod = storage(sandbox, "prod")
    return {"source": prod["bucket_name"], "table": prod["config_table_name"], "batch": 500}


@dataclass(frozen=True)
class Replicated:
    """One test's own config object and item, written in prod and replicated to every target."""

    outputs: dict[str, Any]
    object_key: str
    item_key: dict[str, str]

    def mine(self, differences: list[Difference]) -> list[Difference]:
        """Data differences about this test's object and item (other tests leave data of their own)."""
        item_key = json.dumps(self.item_key, sort_keys=True)
        return [d for d in differences if d.category is Category.DATA and d.resource in (self.object_key, item_key)]


@pytest.fixture
def replicated(sandbox: DeployedSandbox) -> Replicated:
    s3, dynamodb = sandbox.client("s3"), sandbox.client("dynamodb")
    outputs = {env: storage(sandbox, env) for env in ("dev", "staging", "prod")}
    run = uuid.uuid4().hex[:8]
    mine = Replicated(outputs, f"{OBJECT_PREFIX}{run}.json", {"pk": f"pipeline#drift-live-{run}", "sk": "v1"})
    document, item = prod_document(sandbox), {**mine.item_key, "bucket": outputs["prod"]["bucket_name"], "retries": 3}
    s3.put_object(Bucket=outputs["prod"]["bucket_name"], Key=mine.object_key, Body=json.dumps(document).encode())
    dynamodb.put_item(TableName=outputs["prod"]["config_table_name"], Item=to_dynamodb(item))
    deadline = time.time() + REPLICATION_DEADLINE_SECONDS
    while not _replicated(sandbox, mine) and time.time() < deadline:
        time.sleep(0.1)
    return mine


def _replicated(sandbox: DeployedSandbox, mine: Replicated) -> bool:
    """Both replicas exist in every target and match prod after rewriting."""
    s3, dynamodb = sandbox.client("s3"), sandbox.client("dynamodb")
    for env in ("dev", "staging"):
        outputs = mine.outputs[env]
        try:
            s3.head_object(Bucket=outputs["bucket_name"], Key=mine.object_key)
        except s3.exceptions.ClientError:
            return False
        if "Item" not in dynamodb.get_item(TableName=outputs["config_table_name"], Key=to_dynamodb(mine.item_key)):
            return False
    return data_drift(sandbox, mine) == []


def data_drift(sandbox: DeployedSandbox, mine: Replicated) -> list[Difference]:
    differences, compared = compare_data(
        sandbox.settings, ("dev", "staging", "prod"), mine.outputs, lambda service, _env: sandbox.client(service)
    )
    assert compared > 0
    return mine.mine(differences)


def test_replicated_data_has_no_drift(sandbox: DeployedSandbox, replicated: Replicated) -> None:
    assert _replicated(sandbox, replicated), "the live replicator did not bring both targets in line with prod"
    assert data_drift(sandbox, replicated) == []


def test_config_object_changed_in_dev_only_is_data_drift(sandbox: DeployedSandbox, replicated: Replicated) -> None:
    # GIVEN dev's replica of the object edited by hand
    s3 = sandbox.client("s3")
    s3.put_object(Bucket=replicated.outputs["dev"]["bucket_name"], Key=replicated.object_key, Body=b'{"batch": 1}')
    # WHEN the data is compared
    drift = data_drift(sandbox, replicated)
    # THEN dev (and only dev) has drift, repaired by a resync from prod
    expected = [("dev", Kind.VALUE, "object", replicated.object_key)]
    assert [(d.environment, d.kind, d.type, d.resource) for d in drift] == expected
    assert drift[0].status is Status.DRIFT
    assert drift[0].repair == "pipeline-infra resync --from prod --to dev"


def test_config_item_missing_in_staging_is_data_drift(sandbox: DeployedSandbox, replicated: Replicated) -> None:
    dynamodb = sandbox.client("dynamodb")
    table = replicated.outputs["staging"]["config_table_name"]
    dynamodb.delete_item(TableName=table, Key=to_dynamodb(replicated.item_key))
    drift = data_drift(sandbox, replicated)
    assert [(d.environment, d.kind, d.type) for d in drift] == [("staging", Kind.MISSING, "item")]
    assert drift[0].repair == "pipeline-infra resync --from prod --to staging"


def test_drift_live_command_reports_data_drift_and_deployed_state(
    sandbox: DeployedSandbox, replicated: Replicated
) -> None:
    # GIVEN a changed dev replica on top of freshly deployed stacks
    s3 = sandbox.client("s3")
    s3.put_object(Bucket=replicated.outputs["dev"]["bucket_name"], Key=replicated.object_key, Body=b'{"batch": 2}')
    # WHEN the whole live comparison runs against the sandbox's saved state
    report = run_drift(sandbox.workspace, DriftRequest(live=True), sandbox.settings)
    # THEN the data drift is reported, and the deployed stacks match their code
    assert [(d.environment, d.resource) for d in replicated.mine(list(report.differences))] == [
        ("dev", replicated.object_key)
    ]
    live = [d for d in report.differences if d.category is Category.LIVE]
    assert live == [], "\n".join(f"{d.layer}/{d.environment} {d.resource} {d.path} {d.values}" for d in live)
    assert report.exit_code(FailOn.DRIFT) == 1
