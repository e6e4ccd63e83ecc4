"""A target environment whose stacks override the name suffix: deployed, trusted and replicated to by its own names.

Runs on a sandbox of its own, so the override never touches the session sandbox other tests share.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.integration.conftest import copy_workspace, deployed_sandbox
from tests.integration.helpers import unique, wait_for_object

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration
OVERRIDDEN = "staging"
SUFFIX = "alt9"
# Every layer of the overridden environment takes the same suffix, as one environment's stacks should.
OVERRIDDEN_LAYERS = ("storage", "notifications", "processing")


def override_suffix(sandbox_root: Any) -> None:
    for layer in OVERRIDDEN_LAYERS:
        path = sandbox_root / "projects" / layer / f"Pulumi.{OVERRIDDEN}.yaml"
        stack = yaml.safe_load(path.read_text())
        stack["config"][f"pipeline-infra-{layer}:environmentSuffix"] = SUFFIX
        path.write_text(yaml.safe_dump(stack))


@pytest.fixture(scope="module")
def overridden(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedSandbox]:
    root = tmp_path_factory.mktemp("suffix-override")
    workspace = copy_workspace(root)
    override_suffix(root)
    # Replication needs only the targets' storage; prod gets every layer.
    with deployed_sandbox(workspace, lambda env: None if env == "prod" else ["storage"]) as deployed:
        yield deployed


def test_overridden_target_is_deployed_under_its_own_suffix(overridden: DeployedSandbox) -> None:
    storage = overridden.outputs("storage", OVERRIDDEN)
    assert storage["name_suffix"] == SUFFIX
    assert storage["bucket_name"].endswith(f"-{OVERRIDDEN}-{overridden.settings.env(OVERRIDDEN).region}-{SUFFIX}")
    assert storage["config_table_name"] == f"ddb-config-{OVERRIDDEN}-{SUFFIX}"
    assert storage["replica_writer_role_arn"].endswith(f":role/iam-replica-writer-{OVERRIDDEN}-{SUFFIX}")


def test_source_bucket_trusts_the_overridden_writer_role_by_its_real_arn(overridden: DeployedSandbox) -> None:
    prod_bucket = overridden.outputs("storage", "prod")["bucket_name"]
    policy = json.loads(overridden.client("s3").get_bucket_policy(Bucket=prod_bucket)["Policy"])
    readers: set[str] = set()
    for statement in policy["Statement"]:
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            named = principal.get("AWS") or []
            readers.update([named] if isinstance(named, str) else named)
    assert overridden.outputs("storage", OVERRIDDEN)["replica_writer_role_arn"] in readers, readers


def test_prod_change_reaches_the_overridden_target_rewritten_with_its_suffix(overridden: DeployedSandbox) -> None:
    # GIVEN a prod config file that names prod's bucket and tables
    s3 = overridden.client("s3")
    prod = overridden.outputs("storage", "prod")
    staging = overridden.outputs("storage", OVERRIDDEN)
    key = f"config/pipelines/{unique('suffix')}.json"
    document = {"input": f"s3://{prod['bucket_name']}/raw/", "table": prod["config_table_name"]}
    # WHEN it is written in prod
    s3.put_object(Bucket=prod["bucket_name"], Key=key, Body=json.dumps(document).encode())
    # THEN the overridden target's replica names the target's own resources, suffix included
    replica = wait_for_object(s3, staging["bucket_name"], key).json()
    replica.pop("logging")  # the target's overlay
    assert replica == {"input": f"s3://{staging['bucket_name']}/raw/", "table": staging["config_table_name"]}
    assert replica["table"] == f"ddb-config-{OVERRIDDEN}-{SUFFIX}"
