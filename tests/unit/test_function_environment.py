"""The environment-variable contract between the components (which set variables) and the handlers (which read them).

`pipeline_functions.constants` names the variables the functions read; `pipeline_infra.function_environment` is
the library's copy (the library may not import the Lambda package). These tests check that the two agree, that
components name variables only through the library's copy, and that every rendered function is given every
variable its handler reads, found by a static scan of the handler's feature folder and `shared/`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import pipeline_functions.constants as function_constants
from pipeline_infra import function_environment, function_events
from tests.unit.conftest import ENVIRONMENTS

if TYPE_CHECKING:
    from pipeline_infra_tools.engine import RecordedResource

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_SOURCE = ROOT / "packages" / "pipeline_functions" / "src" / "pipeline_functions"
COMPONENTS_SOURCE = ROOT / "packages" / "pipeline_infra" / "src" / "pipeline_infra" / "components"
FUNCTION_TYPE = "aws:lambda/function:Function"
SHARED = "shared"

# Variables the functions read that the infrastructure deliberately does not set, by constant name.
NOT_SET_BY_INFRASTRUCTURE = {
    "AWS_MAX_ATTEMPTS_ENV": "botocore's own variable, read so an explicit retry Config still honours it",
    "AWS_RETRY_MODE_ENV": "botocore's own variable, read so an explicit retry Config still honours it",
    "REPLICATION_ASSUME_ROLES_ENV": (
        "optional switch, default true; only a single-account setup or a runtime that injects credentials sets "
        "it to false, and the infrastructure always wants the writer roles assumed"
    ),
}


def env_constants(module: object) -> dict[str, str]:
    return {k: v for k, v in vars(module).items() if k.endswith("_ENV") and isinstance(v, str)}


# --- (a) the two modules agree ----------------------------------------------------------------------------------


def test_every_variable_the_infrastructure_sets_has_the_same_constant_in_the_library() -> None:
    functions, library = env_constants(function_constants), env_constants(function_environment)
    expected = {name: value for name, value in functions.items() if name not in NOT_SET_BY_INFRASTRUCTURE}
    assert {name: library.get(name) for name in expected} == expected
    assert len(expected) >= 14, expected


def test_the_library_names_no_variable_the_functions_do_not_know() -> None:
    functions, library = env_constants(function_constants), env_constants(function_environment)
    for name, value in library.items():
        if name.startswith("POWERTOOLS_"):
            assert value == name.removesuffix("_ENV"), "Powertools' own variables keep Powertools' names"
        else:
            assert functions.get(name) == value, f"{name}={value!r} is not in pipeline_functions.constants"
    assert function_environment.METRICS_NAMESPACE == function_constants.METRICS_NAMESPACE


def test_exclusions_are_current() -> None:
    functions = env_constants(function_constants)
    for name in NOT_SET_BY_INFRASTRUCTURE:
        assert name in functions, f"{name} is no longer in pipeline_functions.constants: drop the exclusion"
        assert name not in env_constants(function_environment), f"{name} is excluded but the library names it"


def component_literals(names: set[str]) -> dict[str, list[tuple[int, str]]]:
    """Per component module, the string literals among `names` it writes out instead of importing."""
    found = {}
    for path in sorted(COMPONENTS_SOURCE.glob("*.py")):
        literals = [
            (node.lineno, node.value)
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and node.value in names
        ]
        if literals:
            found[path.name] = literals
    return found


def test_components_name_variables_only_through_function_environment() -> None:
    literals = component_literals(set(env_constants(function_environment).values()))
    assert not literals, f"use pipeline_infra.function_environment, not literals: {literals}"


def test_the_events_rules_match_are_the_events_the_functions_parse() -> None:
    """Event source and detail types: the rules and the Pipe (library) against what the handlers accept."""
    for name in function_events.__all__:
        assert getattr(function_events, name) == getattr(function_constants, name), name


def test_components_name_events_only_through_function_events() -> None:
    literals = component_literals({getattr(function_events, name) for name in function_events.__all__})
    assert not literals, f"use pipeline_infra.function_events, not literals: {literals}"


def test_the_literal_scan_finds_a_literal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "component.py").write_text('RULE = {"source": ["aws.s3"]}\n')
    monkeypatch.setattr(sys.modules[__name__], "COMPONENTS_SOURCE", tmp_path)
    assert component_literals({"aws.s3"}) == {"component.py": [(1, "aws.s3")]}


# --- the static scan of what a handler reads -------------------------------------------------------------------


def _is_environ(node: ast.expr) -> bool:
    """`os.environ` or a bare `environ`."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _literal_read(node: ast.AST) -> str | None:
    """The variable of `os.environ["X"]`, `os.environ.get("X")` or `os.getenv("X")`, if `X` is a literal."""
    key: ast.expr | None = None
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        key = node.slice
    elif (
        isinstance(node, ast.Call)
        and node.args
        and isinstance(node.func, ast.Attribute)
        and ((node.func.attr == "get" and _is_environ(node.func.value)) or node.func.attr == "getenv")
    ):
        key = node.args[0]
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value
    return None


def variables_read(path: Path, constants: dict[str, str]) -> set[str]:
    """Every variable a module reads: a `*_ENV` constant it uses (by name, through its module, with any alias),
    and a literal name it looks up in the environment."""
    tree = ast.parse(path.read_text())
    module_aliases: set[str] = set()
    name_aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                if module.endswith("constants") and alias.name in constants:
                    name_aliases[alias.asname or alias.name] = alias.name
                elif alias.name == "constants":
                    module_aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.endswith(".constants"):
                    module_aliases.add(alias.asname or alias.name)
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in constants and ast.unparse(node.value) in module_aliases:
            read.add(constants[node.attr])
        elif isinstance(node, ast.Name) and node.id in name_aliases and isinstance(node.ctx, ast.Load):
            read.add(constants[name_aliases[node.id]])
        elif (literal := _literal_read(node)) is not None:
            read.add(literal)
    return read


def feature_reads(feature: str) -> set[str]:
    """What the code of a feature folder and of `shared/` reads from the environment."""
    folders = [FUNCTIONS_SOURCE / feature, FUNCTIONS_SOURCE / SHARED]
    assert folders[0].is_dir(), f"no feature folder {folders[0]}"
    constants = env_constants(function_constants)
    return {v for folder in folders for path in sorted(folder.rglob("*.py")) for v in variables_read(path, constants)}


def test_the_scan_sees_reads_in_every_form(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import os\nfrom os import environ\n"
        "from pipeline_functions import constants as c\n"
        "from pipeline_functions.constants import DATA_BUCKET_ENV as BUCKET, CONFIG_TABLE_ENV\n"
        "a = require_str(c.ENVIRONMENT_ENV)\nb = os.environ[BUCKET]\nd = environ.get(CONFIG_TABLE_ENV)\n"
        'e = os.getenv("POWERTOOLS_LOG_LEVEL")\nf = os.environ["LITERAL"]\ng = c.DEFAULT_REWRITE_MAX_BYTES\n'
    )
    found = variables_read(module, env_constants(function_constants))
    assert found == {"PIPELINE_ENVIRONMENT", "DATA_BUCKET", "CONFIG_TABLE", "POWERTOOLS_LOG_LEVEL", "LITERAL"}


# --- (b) every rendered function gets what its handler reads ------------------------------------------------------


def rendered_functions(rendered: dict, env: str) -> list[RecordedResource]:
    return [f for (_, stack_env), stack in rendered.items() if stack_env == env for f in stack.of_type(FUNCTION_TYPE)]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_function_is_given_every_variable_its_handler_reads(rendered: dict, env: str) -> None:
    excluded = {getattr(function_constants, name) for name in NOT_SET_BY_INFRASTRUCTURE}
    functions = rendered_functions(rendered, env)
    assert functions, f"no functions rendered in {env}"
    for function in functions:
        # GIVEN the feature the function runs, from its handler `pipeline_functions.<feature>.handler.lambda_handler`
        handler = function.inputs["handler"]
        package, feature, *_ = handler.split(".")
        assert package == "pipeline_functions", (function.urn, handler)
        # WHEN its feature folder and shared/ are scanned for the variables they read
        reads = feature_reads(feature)
        assert function_constants.ENVIRONMENT_ENV in reads, f"the scan of {feature} found nothing: {reads}"
        # THEN each one is set on the function, or excluded with a reason above
        variables = function.inputs["environment"]["variables"]
        missing = sorted(reads - set(variables) - excluded)
        assert not missing, f"{function.urn}: {feature} reads {missing}, which are not set"


def test_every_feature_is_rendered(rendered: dict) -> None:
    features = {f.inputs["handler"].split(".")[1] for env in ENVIRONMENTS for f in rendered_functions(rendered, env)}
    assert features == {"validator", "task_processor", "replicator", "drift_checker"}
