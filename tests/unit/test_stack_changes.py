"""What a deploy or preview changes, property by property, and when the local target leaves a resource alone."""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.cloud_state import PropertyChange, RefreshedResource
from pipeline_infra_tools.deploy.diff_text import property_line
from pipeline_infra_tools.engine.backend import RecordedResource, ResourceRequest
from pipeline_infra_tools.sandbox.changes import diff_stack
from pipeline_infra_tools.sandbox.resources.reads import ReadResult
from pipeline_infra_tools.sandbox.stack_refresh import apply_reads
from pipeline_infra_tools.sandbox.unchanged import unchanged

if TYPE_CHECKING:
    from pathlib import Path

FUNCTION = "aws:lambda/function:Function"
QUEUE = "aws:sqs/queue:Queue"
PROVIDER = "urn:pulumi:dev::p::pulumi:providers:aws::default::default-provider-id"


def recorded(name: str, type_: str, id_: str, inputs: dict[str, Any], tags: dict[str, str] | None = None) -> Any:
    outputs: dict[str, Any] = {**inputs, "id": id_}
    if tags is not None:
        outputs["tagsAll"] = tags
    return RecordedResource(f"urn:{name}", id_, type_, name, None, PROVIDER, inputs, outputs)


def saved(*resources: RecordedResource) -> dict[str, Any]:
    return {"resources": [resource.to_json() for resource in resources]}


def test_an_update_lists_each_changed_property_with_both_values() -> None:
    before = recorded("fn", FUNCTION, "lambda-fn", {"name": "lambda-fn", "memorySize": 512, "timeout": 30})
    after = recorded("fn", FUNCTION, "lambda-fn", {"name": "lambda-fn", "memorySize": 768, "timeout": 30})
    [change] = diff_stack(saved(before), [after]).changes
    assert (change.action, change.replaced_by) == ("update", ())
    assert change.properties == (PropertyChange("memorySize", 512, 768),)
    assert property_line(change.properties[0]) == "~ memorySize: 512 => 768"


def test_a_new_name_is_a_replacement_and_the_old_resource_is_deleted_not_listed_twice() -> None:
    before = recorded("q", QUEUE, "https://q/sqs-a", {"name": "sqs-a"})
    after = recorded("q", QUEUE, "https://q/sqs-b", {"name": "sqs-b"})
    result = diff_stack(saved(before), [after])
    [change] = result.changes
    assert (change.action, change.replaced_by) == ("replace", ("name",))
    assert [record["id"] for record in result.stale] == ["https://q/sqs-a"]
    line = property_line(change.properties[0], change.replaced_by)
    assert line == '~ name: "sqs-a" => "sqs-b" (forces replacement)'


def test_tags_from_the_provider_count_as_a_change() -> None:
    before = recorded("q", QUEUE, "u", {"name": "sqs-a"}, tags={"Layer": "processing"})
    after = recorded("q", QUEUE, "u", {"name": "sqs-a"}, tags={"Layer": "messaging"})
    [change] = diff_stack(saved(before), [after]).changes
    assert change.action == "update"
    assert change.properties == (PropertyChange("tagsAll.Layer", "processing", "messaging"),)


def test_unchanged_is_true_only_for_the_same_inputs_tags_provider_and_code(tmp_path: Path) -> None:
    archive = tmp_path / "functions.zip"
    archive.write_bytes(b"code v1")
    inputs = {"name": "lambda-fn", "code": {"path": str(archive)}}
    sha = base64.b64encode(hashlib.sha256(b"code v1").digest()).decode()
    record = {
        "type": FUNCTION,
        "provider": PROVIDER,
        "inputs": inputs,
        "outputs": {**inputs, "tagsAll": {"Layer": "processing"}, "codeSha256": sha},
    }
    request = ResourceRequest(FUNCTION, "fn", "urn:fn", dict(inputs), True, None, PROVIDER)
    tags = {"Layer": "processing"}
    assert unchanged(record, request, tags)
    assert not unchanged(record, request, {"Layer": "other"})
    assert not unchanged({**record, "provider": "other"}, request, tags)
    assert not unchanged(record, ResourceRequest(FUNCTION, "fn", "urn:fn", {**inputs, "timeout": 9}, True), tags)
    # The archive rebuilt under the same path: the code's hash tells.
    archive.write_bytes(b"code v2")
    assert not unchanged(record, request, tags)


def test_a_refresh_records_what_was_read_and_drops_what_is_gone() -> None:
    queue = recorded("q", QUEUE, "u", {"name": "sqs-a", "visibilityTimeoutSeconds": 30}, tags={"Layer": "p"})
    gone = recorded("fn", FUNCTION, "lambda-fn", {"name": "lambda-fn"})
    document = saved(queue, gone)
    found = [
        RefreshedResource(
            "l",
            "dev",
            "urn:q",
            "q",
            QUEUE,
            "u",
            "changed",
            (PropertyChange("visibilityTimeoutSeconds", 30, 5), PropertyChange("tagsAll.Layer", "p", None)),
        ),
        RefreshedResource("l", "dev", "urn:fn", "fn", FUNCTION, "lambda-fn", "gone"),
    ]
    reads = {
        "urn:q": ReadResult({"name": "sqs-a", "visibilityTimeoutSeconds": 5, "tagsAll": {}}),
        "urn:fn": ReadResult(None),
    }
    refreshed = apply_reads(document, found, reads)
    [record] = refreshed["resources"]
    assert record["inputs"] == {"name": "sqs-a", "visibilityTimeoutSeconds": 5}
    assert record["outputs"]["tagsAll"] == {}
    # The saved document itself is left as it was.
    assert len(document["resources"]) == 2 and document["resources"][0]["inputs"]["visibilityTimeoutSeconds"] == 30
