"""The function artifact: deterministic, content-named, runtime dependencies only, importable on its own."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from typing import TYPE_CHECKING

import pytest

from pipeline_infra_tools.artifact import FUNCTION_ARTIFACT_ENV, build_function_artifact, function_artifact_path

if TYPE_CHECKING:
    from pathlib import Path

HANDLERS = [
    "pipeline_functions.replicator.handler",
    "pipeline_functions.validator.handler",
    "pipeline_functions.task_processor.handler",
    "pipeline_functions.drift_checker.handler",
]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_function_artifact(tmp_path_factory.mktemp("artifact"))


def test_same_inputs_give_a_byte_identical_zip_named_by_its_hash(artifact: Path, tmp_path: Path) -> None:
    again = build_function_artifact(tmp_path)
    assert again.name == artifact.name
    assert again.read_bytes() == artifact.read_bytes()
    assert artifact.name.startswith("functions-") and len(artifact.stem) == len("functions-") + 12


def test_an_existing_artifact_is_reused(artifact: Path) -> None:
    before = artifact.stat().st_mtime_ns
    assert build_function_artifact(artifact.parent) == artifact
    assert artifact.stat().st_mtime_ns == before


def test_entries_are_sorted_with_fixed_time_and_mode(artifact: Path) -> None:
    with zipfile.ZipFile(artifact) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}


def test_only_the_functions_and_their_pure_python_dependencies_are_packed(artifact: Path) -> None:
    with zipfile.ZipFile(artifact) as archive:
        names = archive.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {
        "pipeline_functions",
        "aws_lambda_powertools",
        "jmespath",
        "fastjsonschema",
        "yaml",
        "typing_extensions.py",
    }
    assert not [n for n in names if "__pycache__" in n or n.endswith((".so", ".pyc"))]
    for module in HANDLERS:
        assert module.replace(".", "/") + ".py" in names


def test_handlers_import_from_the_artifact_without_pulumi(artifact: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(tmp_path)
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        f"for name in {HANDLERS!r}:\n"
        "    module = __import__(name, fromlist=['lambda_handler'])\n"
        f"    assert module.__file__.startswith({str(tmp_path)!r}), module.__file__\n"
        "    assert callable(module.lambda_handler)\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_aws', 'pipeline_infra'))\n"
        "assert not leaked, leaked\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env={"AWS_DEFAULT_REGION": "us-east-1"})


def test_the_environment_variable_overrides_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prebuilt = tmp_path / "prebuilt.zip"
    prebuilt.write_bytes(b"PK")
    monkeypatch.setenv(FUNCTION_ARTIFACT_ENV, str(prebuilt))
    assert function_artifact_path() == prebuilt
