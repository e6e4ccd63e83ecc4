"""`drift --live` on the session sandbox: prod's replicated configuration against dev and staging.

Replicas are written here as the replicator writes them (prod's data rewritten for the target), so each
test starts from replicated data and changes one thing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_functions.replicator.items import to_dynamodb
from pipeline_functions.shared.rewrite import Rewriter
from pipeline_infra.drift import Category, DriftRequest, FailOn, Kind, Status, run_drift
from pipeline_infra.drift.live import compare_data, data_targets

if TYPE_CHECKING:
    from pipeline_infra.drift import Difference
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration

OBJECT_KEY = "config/drift-live/pipeline.json"
ITEM_KEY = {"pk": "pipeline#drift-live", "sk": "v1"}


def storage(sandbox: DeployedSandbox, env: str) -> dict[str, Any]:
    return sandbox.outputs("storage", env)


def prod_document(sandbox: DeployedSandbox) -> dict[str, Any]:
    prod = storage(sandbox, "prod")
    return {"source": prod["bucket_name"], "table": prod["config_table_name"], "batch": 500}


@pytest.fixture
def replicated(sandbox: DeployedSandbox) -> dict[str, Any]:
    """Prod's config object and item, and their replicas in every target, rewritten as the replicator does."""
    s3, dynamodb, settings = sandbox.client("s3"), sandbox.client("dynamodb"), sandbox.settings
    outputs = {env: storage(sandbox, env) for env in ("dev", "staging", "prod")}
    document, item = prod_document(sandbox), {**ITEM_KEY, "bucket": outputs["prod"]["bucket_name"], "retries": 3}
    s3.put_object(Bucket=outputs["prod"]["bucket_name"], Key=OBJECT_KEY, Body=json.dumps(document).encode())
    dynamodb.put_item(TableName=outputs["prod"]["config_table_name"], Item=to_dynamodb(item))
    for target in data_targets(settings, outputs, settings.source.replication.targets):
        rewriter = Rewriter(target.replacements, target.overlay)
        body = json.dumps(rewriter.document(document)).encode()
        s3.put_object(Bucket=target.bucket, Key=OBJECT_KEY, Body=body)
        dynamodb.put_item(TableName=target.config_table, Item=to_dynamodb(rewriter.item(item)))
    return outputs


def mine(differences: list[Difference]) -> list[Difference]:
    """Data differences about this module's object and item (other tests may leave data of their own)."""
    item_key = json.dumps(ITEM_KEY, sort_keys=True)
    return [d for d in differences if d.category is Category.DATA and d.resource in (OBJECT_KEY, item_key)]


def data_drift(sandbox: DeployedSandbox, outputs: dict[str, Any]) -> list[Difference]:
    differences, compared = compare_data(sandbox.settings, ("dev", "staging", "prod"), outputs, sandbox.client)
    assert compared > 0
    return mine(differences)


def test_replicated_data_has_no_drift(sandbox: DeployedSandbox, replicated: dict[str, Any]) -> None:
    assert data_drift(sandbox, replicated) == []


def test_config_object_changed_in_dev_only_is_data_drift(sandbox: DeployedSandbox, replicated: dict[str, Any]) -> None:
    # GIVEN dev's replica of the object edited by hand
    s3 = sandbox.client("s3")
    s3.put_object(Bucket=replicated["dev"]["bucket_name"], Key=OBJECT_KEY, Body=b'{"batch": 1}')
    # WHEN the data is compared
    drift = data_drift(sandbox, replicated)
    # THEN dev (and only dev) has drift, repaired by a resync from prod
    assert [(d.environment, d.kind, d.type, d.resource) for d in drift] == [("dev", Kind.VALUE, "object", OBJECT_KEY)]
    assert drift[0].status is Status.DRIFT
    assert drift[0].repair == "pipeline-infra resync --from prod --to dev"


def test_config_item_missing_in_staging_is_data_drift(sandbox: DeployedSandbox, replicated: dict[str, Any]) -> None:
    dynamodb = sandbox.client("dynamodb")
    dynamodb.delete_item(TableName=replicated["staging"]["config_table_name"], Key=to_dynamodb(ITEM_KEY))
    drift = data_drift(sandbox, replicated)
    assert [(d.environment, d.kind, d.type) for d in drift] == [("staging", Kind.MISSING, "item")]
    assert drift[0].repair == "pipeline-infra resync --from prod --to staging"


def test_drift_live_command_reports_data_drift_and_deployed_state(
    sandbox: DeployedSandbox, replicated: dict[str, Any]
) -> None:
    # GIVEN a changed dev replica on top of freshly deployed stacks
    s3 = sandbox.client("s3")
    s3.put_object(Bucket=replicated["dev"]["bucket_name"], Key=OBJECT_KEY, Body=b'{"batch": 2}')
    # WHEN the whole live comparison runs against the sandbox's saved state
    report = run_drift(sandbox.workspace, DriftRequest(live=True), sandbox.settings)
    # THEN the data drift is reported, and the deployed stacks match their code
    assert [(d.environment, d.resource) for d in mine(list(report.differences))] == [("dev", OBJECT_KEY)]
    live = [d for d in report.differences if d.category is Category.LIVE]
    assert live == [], "\n".join(f"{d.layer}/{d.environment} {d.resource} {d.path} {d.values}" for d in live)
    assert report.exit_code(FailOn.DRIFT) == 1
