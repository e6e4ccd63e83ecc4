"""The CI workflow in examples/ci/: its YAML parses and every `pipeline-infra` command it runs exists as written."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

import pytest
import yaml

from pipeline_infra_tools.cli import build_parser
from tests.conftest import ROOT

WORKFLOWS = sorted((ROOT / "examples" / "ci").glob("*.yml"))
# What the workflow's variables stand for when its commands are checked.
VARIABLES = {"$PIPELINE_ENV": "staging"}
SHELL_OPERATORS = {">", ">>", "|", "&&", "||", ";", "2>&1"}


def run_blocks(workflow: dict[str, Any]) -> list[str]:
    return [str(step["run"]) for job in workflow["jobs"].values() for step in job.get("steps", []) if "run" in step]


def commands(script: str) -> list[list[str]]:
    """Each `pipeline-infra ...` command line of a shell script, cut at the first shell operator."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        words = [VARIABLES.get(word, word) for word in shlex.split(line, comments=True)]
        if words[:1] != ["pipeline-infra"]:
            continue
        cut = next((i for i, word in enumerate(words) if word in SHELL_OPERATORS), len(words))
        found.append(words[1:cut])
    return found


class _Refused(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits; the test wants the message
        raise _Refused(message)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    # Subparsers are made by the command modules: make every parser refuse by raising instead of exiting.
    for candidate in [parser, *_subparsers(parser)]:
        candidate.error = _Parser.error.__get__(candidate)  # type: ignore[method-assign]
    return parser.parse_args(argv)


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += [sub, *_subparsers(sub)]
    return found


def workflow(path: Any) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def test_there_is_a_workflow_and_it_parses() -> None:
    assert [p.name for p in WORKFLOWS] == ["pipeline-infra-deploy.yml", "pipeline-infra.yml"]
    for path in WORKFLOWS:
        document = workflow(path)
        # YAML 1.1 reads the key `on` as True.
        assert document.get("on", document.get(True)), f"{path}: no trigger"
        assert document["jobs"], f"{path}: no jobs"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_pipeline_infra_command_exists_with_its_options(path: Any) -> None:
    seen = [argv for script in run_blocks(workflow(path)) for argv in commands(script)]
    assert seen, f"{path.name} runs no pipeline-infra command"
    for argv in seen:
        try:
            args = parse(argv)
        except _Refused as err:
            pytest.fail(f"{path.name}: `pipeline-infra {shlex.join(argv)}` is refused by the CLI: {err}")
        assert callable(args.handler)


def test_pull_requests_post_drift_and_merges_deploy_in_order_behind_preview() -> None:
    main = workflow(ROOT / "examples" / "ci" / "pipeline-infra.yml")
    check = " ".join(run_blocks({"jobs": {"check": main["jobs"]["check"]}}))
    assert "pipeline-infra drift --format markdown" in check
    assert main["jobs"]["deploy-staging"]["needs"] == "deploy-dev"
    assert main["jobs"]["deploy-prod"]["needs"] == "deploy-staging"
    deploy = workflow(ROOT / "examples" / "ci" / "pipeline-infra-deploy.yml")
    ran = [argv[0] for script in run_blocks(deploy) for argv in commands(script)]
    assert ran.index("preview") < ran.index("deploy"), "each environment is deployed only after its preview"
    assert all("--target" in argv and "aws" in argv for s in run_blocks(deploy) for argv in commands(s)[:2])


def test_a_command_that_does_not_exist_is_refused() -> None:
    with pytest.raises(_Refused):
        parse(["drift", "--format", "html"])
    with pytest.raises(_Refused):
        parse(["deploy-everything"])
