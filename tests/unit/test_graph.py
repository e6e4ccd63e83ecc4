"""`pipeline-infra graph`: the picture of prod (layers, components, flows, StackReferences) and the README's copy.

Run `python -m tests.unit.test_graph` from the repository root to write the current picture into the README.
"""

from __future__ import annotations

import re
import sys

import pytest

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.graph import environment_picture
from pipeline_infra_tools.workspace import Workspace
from tests.conftest import ROOT

README = ROOT / "README.md"
BEGIN, END = "<!-- graph:prod:begin -->", "<!-- graph:prod:end -->"
UPDATE = "python -m tests.unit.test_graph"


def picture(workspace: Workspace, fmt: str) -> str:
    return environment_picture(workspace, load_settings(workspace.config_dir), "prod", None, fmt)


def readme_block(text: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end]


def with_picture(text: str, mermaid: str) -> str:
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return f"{text[:start]}\n```mermaid\n{mermaid}```\n{text[end:]}"


@pytest.fixture(scope="module")
def mermaid(workspace: Workspace) -> str:
    return picture(workspace, "mermaid")


def edges(text: str) -> set[tuple[str, str, str]]:
    return set(re.findall(r"^\s+(\w+) [-=.]+>\|\"([^\"]+)\"\| (\w+)$", text, re.MULTILINE))


def test_the_readme_shows_the_picture_the_command_draws(mermaid: str) -> None:
    text = README.read_text(encoding="utf-8")
    expected = with_picture(text, mermaid)
    assert readme_block(text) == readme_block(expected), (
        f"README.md's picture of prod is out of step with `pipeline-infra graph --env prod --format mermaid`; "
        f"update it with `{UPDATE}`"
    )


def test_layers_are_boxes_with_their_components_and_resources_labelled_by_type_and_name(mermaid: str) -> None:
    for layer in ("storage", "notifications", "processing", "replication"):
        assert f'subgraph layer_{layer}["{layer} (prod)"]' in mermaid
    assert 'subgraph replication_c_capture["ChangeCapture capture"]' in mermaid
    assert 'replication_capture_pipe["Pipe capture-pipe"]' in mermaid
    assert "pulumi:providers" not in mermaid and "aws-prod" not in mermaid


def test_the_flows_from_prods_bucket_and_table_reach_the_replicas(mermaid: str) -> None:
    found = {(source, label, target) for source, label, target in edges(mermaid)}
    replicator = "replication_replicator_function_function"
    assert ("storage_data_bucket", "S3 events", "replication_capture_s3_changes") in found
    assert ("replication_capture_s3_changes", "invokes", replicator) in found
    assert ("storage_config_table", "stream", "replication_capture_pipe") in found
    assert ("replication_capture_pipe", "puts events", "replication_capture_bus") in found
    assert ("replication_capture_bus", "matches", "replication_capture_config_changes") in found
    assert ("replication_capture_config_changes", "invokes", replicator) in found
    for env in ("dev", "staging"):
        assert (replicator, f"replicates to {env}", f"stack_storage_{env}_bucket_name") in found
        assert (replicator, f"replicates to {env}", f"stack_storage_{env}_config_table_name") in found
    assert ("layer_storage", "StackReference", "layer_replication") in found
    assert ("stack_storage_dev", "StackReference", "layer_replication") in found
    assert ("replication_capture_s3_changes", "dead letters", "notifications_replication_dlq_queue") in found


def test_dot_has_a_cluster_per_layer_and_the_same_flows(workspace: Workspace) -> None:
    dot = picture(workspace, "dot")
    assert dot.startswith('digraph "pipeline-infra prod" {')
    assert "subgraph cluster_layer_replication {" in dot
    assert 'storage_config_table -> replication_capture_pipe [label="stream"];' in dot
    # An edge to a layer ends at the layer's box, through one of its nodes.
    assert "lhead=cluster_layer_replication" in dot


def update_readme() -> None:
    workspace = Workspace(ROOT)
    README.write_text(with_picture(README.read_text(encoding="utf-8"), picture(workspace, "mermaid")), encoding="utf-8")
    print(f"updated {README.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    update_readme()
