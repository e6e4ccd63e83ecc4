"""`pipeline-infra render`: the exact JSON interface other checks rely on, and the readable table."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pipeline_infra_tools.workspace import Workspace

RESOURCE_KEYS = {"urn", "id", "type", "name", "parent", "provider", "inputs", "outputs", "dependencies"}


def render(workspace: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline_infra_tools.cli", "render", *args],
        cwd=workspace.root,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def processing_dev(workspace: Workspace) -> dict[str, Any]:
    completed = render(workspace, "--env", "dev", "--layer", "processing", "--format", "json")
    assert completed.returncode == 0, completed.stderr
    document: dict[str, Any] = json.loads(completed.stdout)
    return document


def test_document_shape(processing_dev: dict[str, Any]) -> None:
    assert set(processing_dev) == {"environment", "stacks"}
    assert processing_dev["environment"] == "dev"
    [stack] = processing_dev["stacks"]
    assert set(stack) == {"project", "stack", "outputs", "resources"}
    assert (stack["project"], stack["stack"]) == ("pipeline-infra-processing", "dev")
    for resource in stack["resources"]:
        assert set(resource) == RESOURCE_KEYS, resource["urn"]


def test_providers_are_resources_and_every_aws_resource_names_its_provider(processing_dev: dict[str, Any]) -> None:
    resources = processing_dev["stacks"][0]["resources"]
    [provider] = [r for r in resources if r["type"] == "pulumi:providers:aws"]
    reference = f"{provider['urn']}::{provider['id']}"
    aws = [r for r in resources if r["type"].startswith("aws:")]
    assert aws and all(r["provider"] == reference for r in aws)


def test_stack_references_resolve_from_rendered_upstream_stacks(processing_dev: dict[str, Any]) -> None:
    resources = processing_dev["stacks"][0]["resources"]
    references = {
        r["inputs"]["name"]: r["outputs"]["outputs"] for r in resources if r["type"] == "pulumi:pulumi:StackReference"
    }
    assert set(references) == {
        "organization/pipeline-infra-storage/dev",
        "organization/pipeline-infra-notifications/dev",
    }
    assert references["organization/pipeline-infra-storage/dev"]["bucket_name"] == "company-data-dev-us-east-1-pl01"
    [rule] = [r for r in resources if r["type"] == "aws:cloudwatch/eventRule:EventRule"]
    assert "company-data-dev-us-east-1-pl01" in rule["inputs"]["eventPattern"]


def test_ids_and_arns_are_realistic(processing_dev: dict[str, Any]) -> None:
    resources = {r["name"]: r for r in processing_dev["stacks"][0]["resources"]}
    function = resources["processing-validator-function"]
    assert function["id"] == "lambda-validator-dev-pl01"
    assert function["outputs"]["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:lambda-validator-dev-pl01"
    assert (
        resources["processing-validator-role"]["outputs"]["arn"]
        == "arn:aws:iam::123456789012:role/iam-validator-dev-pl01"
    )
    assert processing_dev["stacks"][0]["outputs"]["validator_function_arn"] == function["outputs"]["arn"]


def test_table_format_lists_resources_and_outputs(workspace: Workspace) -> None:
    completed = render(workspace, "--env", "prod", "--layer", "storage", "--format", "table")
    assert completed.returncode == 0, completed.stderr
    assert "pipeline-infra-storage/prod: " in completed.stdout
    assert "aws:s3/bucket:Bucket" in completed.stdout and "company-data-prod-us-east-1-pl01" in completed.stdout
    assert "bucket_arn = arn:aws:s3:::company-data-prod-us-east-1-pl01" in completed.stdout


def test_unknown_environment_is_a_usage_error(workspace: Workspace) -> None:
    completed = render(workspace, "--env", "qa", "--format", "json")
    assert completed.returncode == 2
    assert completed.stderr.strip().splitlines() == [
        "settings error:",
        "unknown environment 'qa'; shared_config/ defines ['dev', 'prod', 'staging']",
    ]
    assert completed.stdout == ""
