"""`preview` prints each change with its properties, like `pulumi preview --diff`, and `--format json` gives the same.

The session sandbox's workspace is edited for the length of one test and put back in a `finally`: a preview
changes nothing in the cloud or the records, so the other tests sharing the sandbox see no difference.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.integration.helpers import cli, cli_json

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.integration.conftest import DeployedSandbox

pytestmark = pytest.mark.integration


@contextmanager
def edited(path: Path, edit: Any) -> Iterator[None]:
    original = path.read_text(encoding="utf-8")
    document = yaml.safe_load(original)
    edit(document)
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    try:
        yield
    finally:
        path.write_text(original, encoding="utf-8")


def preview(root: Path, *args: str) -> tuple[str, dict[str, Any]]:
    text = cli(root, "preview", "--env", "dev", "--layer", "processing", *args)
    assert text.returncode == 0, text.stdout + text.stderr
    as_json = cli(root, "preview", "--env", "dev", "--layer", "processing", "--format", "json", *args)
    assert as_json.returncode == 0, as_json.stdout + as_json.stderr
    return text.stdout, cli_json(as_json)


def changed(document: dict[str, Any], name: str) -> dict[str, Any]:
    [stack] = document["stacks"]
    matches = [resource for resource in stack["resources"] if resource["name"] == name]
    assert len(matches) == 1, [resource["name"] for resource in stack["resources"]]
    return matches[0]


def test_an_update_is_shown_property_by_property(sandbox: DeployedSandbox) -> None:
    root = sandbox.workspace.root
    deployed = sandbox.outputs("processing", "dev")
    # GIVEN dev's validator memory raised in the settings
    with edited(root / "shared_config" / "dev.yaml", lambda d: d["functions"]["validator"].update(memory_mb=768)):
        text, document = preview(root)
    # THEN the function is an update of memorySize, with both values, in text and in JSON
    assert "~ update aws:lambda/function:Function  processing-validator-function" in text, text
    assert "~ memorySize: 512 => 768" in text, text
    function = changed(document, "processing-validator-function")
    assert function["action"] == "update" and function["replaced_by"] == []
    assert {"path": "memorySize", "recorded": 512, "live": 768, "absent": []} in function["properties"]
    # AND nothing was deployed
    assert sandbox.outputs("processing", "dev") == deployed
    assert sandbox.client("lambda").get_function_configuration(FunctionName=function["id"])["MemorySize"] == 512


def test_a_replacement_is_marked_with_the_property_that_forces_it(sandbox: DeployedSandbox) -> None:
    root = sandbox.workspace.root
    stack_file = root / "projects" / "processing" / "Pulumi.dev.yaml"
    # GIVEN the processing stack of dev given another name suffix, which renames its resources
    with edited(stack_file, lambda d: d["config"].update({"pipeline-infra-processing:environmentSuffix": "zz9"})):
        text, document = preview(root)
    # THEN the function is replaced, its name named as what forces it
    function = changed(document, "processing-validator-function")
    assert function["action"] == "replace" and function["replaced_by"] == ["name"]
    [name] = [change for change in function["properties"] if change["path"] == "name"]
    assert name["recorded"] == "lambda-validator-dev-pl01" and name["live"] == "lambda-validator-dev-zz9"
    assert "+- replace aws:lambda/function:Function  processing-validator-function" in text, text
    assert '~ name: "lambda-validator-dev-pl01" => "lambda-validator-dev-zz9" (forces replacement)' in text, text
