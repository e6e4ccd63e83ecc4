"""Structural drift: rendered graphs of dev, staging and prod, mutated one case at a time.

The three environments are rendered once per session (the `rendered` fixture); each case deep-copies the
documents and changes one thing, as a hand edit or a diverging stack would.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import pytest

from pipeline_infra_tools.drift import Kind, Status, compare_structure
from pipeline_infra_tools.drift.graph_diff import LAYER_PATH, PRESENT_PATH

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.drift import Difference

ENVS = ("dev", "staging", "prod")
Documents = dict[tuple[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def documents(rendered: dict[tuple[str, str], Any]) -> Documents:
    """The session's renderings as render-document JSON (what `render --format json` prints per stack)."""
    return {key: stack.result.to_json() for key, stack in rendered.items()}


def resource(documents: Documents, layer: str, env: str, name: str) -> dict[str, Any]:
    matches = [r for r in documents[(layer, env)]["resources"] if r["name"] == name]
    assert len(matches) == 1, f"{layer}/{env}: expected one resource {name!r}, found {[r['urn'] for r in matches]}"
    found: dict[str, Any] = matches[0]
    return found


def drift_after(
    settings: Settings, documents: Documents, change: Callable[[Documents], None], envs: tuple[str, ...] = ENVS
) -> list[Difference]:
    mutated = copy.deepcopy(documents)
    change(mutated)
    return [d for d in compare_structure(settings, envs, "prod", mutated) if d.status is Status.DRIFT]


def describe(differences: list[Difference]) -> str:
    return "\n".join(f"{d.pair} {d.layer} {d.resource} {d.path} {d.values} {d.absent}" for d in differences)


def test_shipped_rendering_has_only_approved_differences(settings: Settings, documents: Documents) -> None:
    differences = compare_structure(settings, ENVS, "prod", documents)
    drift = [d for d in differences if d.status is Status.DRIFT]
    assert drift == [], describe(drift)
    approved = {(d.environment, d.resource, d.path) for d in differences}
    # The declared differences are listed, not hidden.
    assert ("dev", "processing-validator-function", "memorySize") in approved
    assert ("staging", None, LAYER_PATH) in approved
    assert ("dev", "replica-writer-role", PRESENT_PATH) in approved


def test_versioning_off_in_one_env_is_drift(settings: Settings, documents: Documents) -> None:
    def suspend(docs: Documents) -> None:
        resource(docs, "storage", "staging", "data-versioning")["inputs"]["versioningConfiguration"]["status"] = (
            "Suspended"
        )

    drift = drift_after(settings, documents, suspend)
    assert [(d.environment, d.resource, d.path, d.values) for d in drift] == [
        ("staging", "data-versioning", "versioningConfiguration.status", {"prod": "Enabled", "staging": "Suspended"})
    ], describe(drift)
    assert "deploy --env staging --layer storage" in drift[0].repair


def test_different_lifecycle_in_one_env_is_drift(settings: Settings, documents: Documents) -> None:
    def shorten(docs: Documents) -> None:
        rules = resource(docs, "storage", "dev", "data-lifecycle")["inputs"]["rules"]
        next(rule for rule in rules if rule["id"] == "expire-raw-data")["expiration"]["days"] = 3

    drift = drift_after(settings, documents, shorten)
    assert [(d.environment, d.resource, d.path, d.values) for d in drift] == [
        ("dev", "data-lifecycle", "rules[expire-raw-data].expiration.days", {"prod": 30, "dev": 3})
    ], describe(drift)


def test_point_in_time_recovery_missing_on_one_table_is_drift(settings: Settings, documents: Documents) -> None:
    def drop_pitr(docs: Documents) -> None:
        del resource(docs, "storage", "staging", "metadata-table")["inputs"]["pointInTimeRecovery"]

    drift = drift_after(settings, documents, drop_pitr)
    assert [(d.environment, d.resource, d.path, d.absent) for d in drift] == [
        ("staging", "metadata-table", "pointInTimeRecovery.enabled", ("staging",))
    ], describe(drift)


def test_resource_in_prod_absent_in_staging_is_drift(settings: Settings, documents: Documents) -> None:
    def remove(docs: Documents) -> None:
        stack = docs[("notifications", "staging")]
        stack["resources"] = [r for r in stack["resources"] if r["name"] != "tasks-dlq"]

    drift = drift_after(settings, documents, remove)
    assert [(d.kind, d.environment, d.resource, d.absent) for d in drift] == [
        (Kind.MISSING, "staging", "tasks-dlq", ("staging",))
    ], describe(drift)


def test_different_lambda_runtime_in_dev_is_drift(settings: Settings, documents: Documents) -> None:
    def older_runtime(docs: Documents) -> None:
        resource(docs, "processing", "dev", "processing-task-processor-function")["inputs"]["runtime"] = "python3.9"

    drift = drift_after(settings, documents, older_runtime)
    assert [(d.environment, d.resource, d.path, d.values) for d in drift] == [
        ("dev", "processing-task-processor-function", "runtime", {"prod": "python3.12", "dev": "python3.9"})
    ], describe(drift)


def test_wildcard_added_to_one_role_policy_is_drift(settings: Settings, documents: Documents) -> None:
    def widen(docs: Documents) -> None:
        policy_resource = resource(docs, "processing", "staging", "processing-validator-policy")
        policy = json.loads(policy_resource["inputs"]["policy"])
        statement = next(s for s in policy["Statement"] if s["Sid"] == "RecordMetadata")
        statement["Action"] = ["dynamodb:*"]
        policy_resource["inputs"]["policy"] = json.dumps(policy)

    drift = drift_after(settings, documents, widen)
    assert [(d.environment, d.resource, d.path) for d in drift] == [
        ("staging", "processing-validator-policy", "policy.Statement[RecordMetadata].Action")
    ], describe(drift)
    assert drift[0].note == "adds wildcard grant ['dynamodb:*']"


def test_approved_property_breaking_its_rule_is_drift(settings: Settings, documents: Documents) -> None:
    def oversize_staging(docs: Documents) -> None:
        resource(docs, "processing", "staging", "processing-validator-function")["inputs"]["memorySize"] = 4096

    drift = drift_after(settings, documents, oversize_staging)
    # The rule spans every environment, so both pairs on that path turn to drift.
    assert {(d.environment, d.path) for d in drift} == {("dev", "memorySize"), ("staging", "memorySize")}, describe(
        drift
    )
    assert drift[0].rule_result == "non_decreasing broken: staging 4096 > prod 2048"
    assert drift[0].approval is not None and drift[0].approval.pattern == "aws:lambda/function:Function.memorySize"


def test_type_change_under_the_same_role_is_drift(settings: Settings, documents: Documents) -> None:
    def retype(docs: Documents) -> None:
        resource(docs, "notifications", "dev", "tasks-dlq")["type"] = "aws:sns/topic:Topic"

    drift = drift_after(settings, documents, retype)
    assert [(d.kind, d.resource, d.values) for d in drift] == [
        (Kind.TYPE, "tasks-dlq", {"prod": "aws:sqs/queue:Queue", "dev": "aws:sns/topic:Topic"})
    ], describe(drift)


def test_undeclared_layer_is_drift(settings: Settings, documents: Documents) -> None:
    def add_replication(docs: Documents) -> None:
        docs[("replication", "dev")] = copy.deepcopy(docs[("replication", "prod")])

    drift = drift_after(settings, documents, add_replication)
    layers = [(d.kind, d.environment, d.layer, d.note) for d in drift if d.path == LAYER_PATH]
    assert layers == [
        (Kind.EXTRA, "dev", "replication", "the layer's stacks differ from approved_differences.yaml layers")
    ], describe(drift)


def test_environment_tokens_in_another_region_and_account_are_normalised(
    settings: Settings, documents: Documents
) -> None:
    # GIVEN dev in another region and account, its rendering carrying those identifiers everywhere
    dev = settings.environments["dev"].model_copy(update={"region": "eu-west-1", "account_id": "210987654321"})
    moved = settings.model_copy(update={"environments": {**settings.environments, "dev": dev}})
    relocated = {
        key: json.loads(json.dumps(doc).replace("us-east-1", "eu-west-1").replace("123456789012", "210987654321"))
        if key[1] == "dev"
        else doc
        for key, doc in documents.items()
    }
    # WHEN the environments are compared
    drift = [d for d in compare_structure(moved, ENVS, "prod", relocated) if d.status is Status.DRIFT]
    # THEN names, ARNs, policies and tags still match by role: nothing is drift
    assert drift == [], describe(drift)
