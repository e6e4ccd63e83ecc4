"""A destroy or a stale delete goes in dependency order, taken from what each rendered resource waited for."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline_infra_tools.sandbox.changes import deletion_order, is_cloud_resource
from tests.unit.conftest import ENVIRONMENTS, stack


def _record(
    urn: str, *dependencies: str, type_: str = "aws:s3/bucket:Bucket", parent: str | None = None
) -> dict[str, Any]:
    return {"urn": urn, "type": type_, "parent": parent, "dependencies": list(dependencies)}


def test_a_resource_goes_after_everything_that_depends_on_it_whatever_the_record_order() -> None:
    # The record lists the rule's target first: reverse order alone would delete the rule while it has targets.
    records = [_record("target", "rule"), _record("rule"), _record("other")]
    order = [r["urn"] for r in deletion_order(records)]
    assert order.index("target") < order.index("rule")
    assert order == ["other", "target", "rule"]


def test_a_dependency_on_a_component_holds_for_everything_under_it() -> None:
    records = [
        _record("component", type_="pipeline:Component"),
        _record("queue", parent="component"),
        _record("mapping", "component"),
    ]
    order = [r["urn"] for r in deletion_order(records)]
    assert order == ["mapping", "queue"]


def test_a_record_without_dependencies_is_deleted_in_reverse_order() -> None:
    records = [_record("first"), _record("second"), _record("third")]
    assert [r["urn"] for r in deletion_order(records)] == ["third", "second", "first"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_rendered_rule_is_deleted_after_its_targets(rendered: dict[tuple[str, str], Any], env: str) -> None:
    for layer in ("processing", "replication"):
        if (layer, env) not in rendered:
            continue
        records = [r.to_json() for r in stack(rendered, layer, env).resources]
        order = [r["urn"] for r in deletion_order(records)]
        assert len(order) == sum(1 for r in records if is_cloud_resource(r["type"]))
        targets = [r for r in records if r["type"] == "aws:cloudwatch/eventTarget:EventTarget"]
        assert targets, f"{layer}/{env} renders no rule target"
        for target in targets:
            rules = [u for u in target["dependencies"] if "eventRule:EventRule" in u]
            assert rules, f"{target['urn']} records no dependency on its rule: {target['dependencies']}"
            for rule_urn in rules:
                assert order.index(target["urn"]) < order.index(rule_urn)
