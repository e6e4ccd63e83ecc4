"""Least privilege as the emulator enforces it: each function's role, used directly, against real objects.

The sandbox administrator assumes each function's execution role (as the Lambda service does); every denial is
checked on an object that exists and that the administrator can read, so AccessDenied can only mean the policy.
S3, SQS, DynamoDB and SNS requests are checked per resource (tests/integration/test_role_matrix.py tries every
role on every data resource); EventBridge's and Logs' scoping is proven statically.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.helpers import assert_denied, read_object, role_client, unique

if TYPE_CHECKING:
    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration


def bucket(sandbox: DeployedSandbox, env: str) -> str:
    return str(sandbox.outputs("storage", env)["bucket_name"])


def existing_object(sandbox: DeployedSandbox, env: str, prefix: str) -> str:
    """An object written by the administrator in `env`'s bucket; its key."""
    key = f"{prefix}{unique('least-privilege')}.json"
    sandbox.client("s3").put_object(Bucket=bucket(sandbox, env), Key=key, Body=b'{"probe": true}')
    return key


def function_role(sandbox: DeployedSandbox, function_name: str) -> str:
    return str(sandbox.client("lambda").get_function_configuration(FunctionName=function_name)["Role"])


@pytest.fixture(scope="module")
def replicator_s3(sandbox: DeployedSandbox) -> Any:
    return role_client(sandbox, sandbox.outputs("replication", "prod")["replicator_role_arn"], "s3")


def test_replicator_reads_prod_config(sandbox: DeployedSandbox, replicator_s3: Any) -> None:
    key = existing_object(sandbox, "prod", "config/least-privilege/")
    found = read_object(replicator_s3, bucket(sandbox, "prod"), key)
    assert found is not None and found.json() == {"probe": True}


def test_replicator_cannot_write_prod_bucket(sandbox: DeployedSandbox, replicator_s3: Any) -> None:
    prod, key = bucket(sandbox, "prod"), f"config/least-privilege/{unique('write')}.json"
    assert_denied(lambda: replicator_s3.put_object(Bucket=prod, Key=key, Body=b"{}"), f"PutObject s3://{prod}/{key}")
    assert read_object(sandbox.client("s3"), prod, key) is None, "the denied write left an object behind"


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_replicator_cannot_read_or_write_a_target_bucket_with_its_own_role(
    sandbox: DeployedSandbox, replicator_s3: Any, env: str
) -> None:
    # Targets are written only through their writer role, which the replicator must assume.
    target, key = bucket(sandbox, env), existing_object(sandbox, env, "config/least-privilege/")
    assert_denied(lambda: replicator_s3.get_object(Bucket=target, Key=key), f"GetObject s3://{target}/{key}")
    assert_denied(
        lambda: replicator_s3.put_object(Bucket=target, Key=key, Body=b"{}"), f"PutObject s3://{target}/{key}"
    )


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_writer_role_writes_its_own_config_but_not_outside_the_replicated_prefixes(
    sandbox: DeployedSandbox, env: str
) -> None:
    # GIVEN the writer role, assumed by prod's replicator as the replicator does
    replicator_sts = role_client(sandbox, sandbox.outputs("replication", "prod")["replicator_role_arn"], "sts")
    writer = role_client(sandbox, sandbox.outputs("storage", env)["replica_writer_role_arn"], "s3", replicator_sts)
    target, config_key = bucket(sandbox, env), f"config/least-privilege/{unique('writer')}.json"
    # THEN it writes config/ in its own environment's bucket
    writer.put_object(Bucket=target, Key=config_key, Body=b'{"written": true}')
    assert read_object(sandbox.client("s3"), target, config_key) is not None
    # AND nothing outside the replicated prefixes, nor another environment's bucket
    raw_key = f"raw/least-privilege/{unique('writer')}.json"
    assert_denied(lambda: writer.put_object(Bucket=target, Key=raw_key, Body=b"{}"), f"PutObject s3://{target}/raw")
    other = "staging" if env == "dev" else "dev"
    assert_denied(
        lambda: writer.put_object(Bucket=bucket(sandbox, other), Key=config_key, Body=b"{}"),
        f"PutObject into {other}'s bucket",
    )


def test_validator_reads_its_own_uploads_and_schemas(sandbox: DeployedSandbox) -> None:
    validator = role_client(
        sandbox, function_role(sandbox, sandbox.outputs("processing", "dev")["validator_function_name"]), "s3"
    )
    key = existing_object(sandbox, "dev", "schemas/least-privilege-")
    found = read_object(validator, bucket(sandbox, "dev"), key)
    assert found is not None and found.json() == {"probe": True}


@pytest.mark.parametrize(
    ("env", "other"), [("dev", "staging"), ("dev", "prod"), ("staging", "prod"), ("prod", "dev"), ("prod", "staging")]
)
def test_validator_cannot_read_another_environments_bucket(sandbox: DeployedSandbox, env: str, other: str) -> None:
    validator = role_client(
        sandbox, function_role(sandbox, sandbox.outputs("processing", env)["validator_function_name"]), "s3"
    )
    # The prefixes the validator may read in its own bucket, probed in the other environment's bucket.
    for prefix in ("raw/least-privilege/", "schemas/least-privilege-"):
        key = existing_object(sandbox, other, prefix)
        read = partial(validator.get_object, Bucket=bucket(sandbox, other), Key=key)
        assert_denied(read, f"{env}'s validator GetObject s3://{bucket(sandbox, other)}/{key}")
