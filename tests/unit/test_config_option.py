"""`--config DIR`: accepted before and after every command, the same as $PIPELINE_CONFIG_DIR, a directory without
base.yaml refused as a settings error, each profile's own state directory, and repair hints naming the directory
in use."""

from __future__ import annotations

import argparse
import json
import os
import shutil
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from pipeline_infra.settings import CONFIG_DIR_ENV, load_settings
from pipeline_infra_tools.cli import EXIT_USAGE, build_parser, main
from pipeline_infra_tools.workspace import ROOT_ENV, Workspace, config_label
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

MULTI_ACCOUNT = ROOT / "examples" / "multi-account" / "shared_config"
MULTI_ACCOUNT_RELATIVE = "examples/multi-account/shared_config"
RENDER_DEV_STORAGE = ("render", "--env", "dev", "--layer", "storage", "--format", "json")


def run_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *argv: str,
    config_env: Path | None = None,
) -> tuple[int, str, str]:
    """`pipeline-infra ARGV` in this process, in the repository's workspace: (exit code, stdout, stderr).

    $PIPELINE_CONFIG_DIR is `config_env` (else unset) while it runs and restored afterwards, `--config` included."""
    monkeypatch.setenv(CONFIG_DIR_ENV, str(config_env or ""))
    if config_env is None:
        monkeypatch.delenv(CONFIG_DIR_ENV)
    monkeypatch.setenv(ROOT_ENV, str(ROOT))
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def provider_accounts(document: dict[str, Any]) -> set[str]:
    return {
        account
        for stack in document["stacks"]
        for resource in stack["resources"]
        if resource["type"] == "pulumi:providers:aws"
        for account in json.loads(resource["inputs"]["allowedAccountIds"])
    }


# -- the same settings, however they are named ------------------------------------------------------------------


@pytest.fixture(scope="module")
def multi_account_dev_account() -> str:
    return load_settings(MULTI_ACCOUNT).env("dev").account_id


def test_config_before_or_after_the_command_or_in_the_environment_renders_the_same(
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    multi_account_dev_account: str,
) -> None:
    monkeypatch.chdir(ROOT)
    renders = {
        "before": run_cli(monkeypatch, capsys, "--config", MULTI_ACCOUNT_RELATIVE, *RENDER_DEV_STORAGE),
        "after": run_cli(monkeypatch, capsys, *RENDER_DEV_STORAGE, "--config", str(MULTI_ACCOUNT)),
        "environment": run_cli(monkeypatch, capsys, *RENDER_DEV_STORAGE, config_env=MULTI_ACCOUNT),
        "default": run_cli(monkeypatch, capsys, *RENDER_DEV_STORAGE),
    }
    assert {how: code for how, (code, _, _) in renders.items()} == dict.fromkeys(renders, 0), renders
    documents = {how: json.loads(out) for how, (_, out, _) in renders.items()}
    assert documents["before"] == documents["after"] == documents["environment"]
    assert provider_accounts(documents["before"]) == {multi_account_dev_account}
    # and it is the profile that made the difference
    default_account = load_settings(ROOT / "shared_config").env("dev").account_id
    assert provider_accounts(documents["default"]) == {default_account} != {multi_account_dev_account}


def test_the_last_config_given_wins_and_every_command_takes_it() -> None:
    parser = build_parser()
    assert parser.parse_args(["render", "--env", "dev"]).config_dir is None
    assert parser.parse_args(["--config", "a", "render", "--env", "dev"]).config_dir == "a"
    assert parser.parse_args(["--config", "a", "render", "--env", "dev", "--config", "b"]).config_dir == "b"
    assert parser.parse_args(["policy", "--config", "c", "check", "--env", "dev"]).config_dir == "c"
    assert parser.parse_args(["policy", "check", "--env", "dev", "--config", "d"]).config_dir == "d"

    def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, command in action.choices.items():
                    assert "--config" in command._option_string_actions, (*path, name)
                    assert command._option_string_actions["--config"].dest == "config_dir", (*path, name)
                    yield (*path, name)
                    yield from commands(command, (*path, name))

    found = list(commands(parser))
    assert {"render", "deploy", "drift", "policy", "status", "graph"} <= {path[0] for path in found}
    assert ("policy", "check") in found and ("sandbox", "up") in found


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize("command", [("render", "--env", "dev"), ("drift",), ("policy", "check", "--env", "dev")])
@pytest.mark.parametrize("kind", ["missing", "without base.yaml"])
def test_a_config_directory_without_settings_is_a_settings_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    where: str,
    command: tuple[str, ...],
    kind: str,
) -> None:
    directory = tmp_path / "profiles" / "nowhere"
    if kind != "missing":
        directory.mkdir(parents=True)
        (directory / "dev.yaml").write_text("region: us-east-1\n")
    option = ("--config", str(directory))
    argv = (*option, *command) if where == "before" else (*command, *option)
    code, out, err = run_cli(monkeypatch, capsys, *argv)
    assert (code, out) == (EXIT_USAGE, "")
    assert err.startswith(f"settings error:\n--config {directory}: expected a settings directory holding base.yaml")
    assert CONFIG_DIR_ENV not in os.environ  # nothing was set for the programs


def test_the_environment_variable_naming_a_missing_directory_is_a_settings_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    directory = tmp_path / "nowhere"
    code, out, err = run_cli(monkeypatch, capsys, *RENDER_DEV_STORAGE, config_env=directory)
    assert (code, out) == (EXIT_USAGE, "")
    assert err.startswith("settings error:\n") and str(directory / "base.yaml") in err


# -- the workspace: settings and state per profile --------------------------------------------------------------


def test_each_profile_gets_its_own_state_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workspace = Workspace(ROOT)
    monkeypatch.delenv(CONFIG_DIR_ENV, raising=False)
    assert (workspace.config_dir, workspace.state_dir) == (ROOT / "shared_config", ROOT / ".pipeline")
    # naming the workspace's own shared_config is the default
    monkeypatch.setenv(CONFIG_DIR_ENV, str(ROOT / "shared_config"))
    assert workspace.state_dir == ROOT / ".pipeline"

    monkeypatch.setenv(CONFIG_DIR_ENV, str(MULTI_ACCOUNT))
    assert workspace.config_dir == MULTI_ACCOUNT
    multi = workspace.state_dir
    assert multi.parent == ROOT / ".pipeline" / "profiles"
    assert multi.name.startswith("multi-account-") and len(multi.name) == len("multi-account-") + 8
    # relative to the current directory, as --config is
    monkeypatch.chdir(ROOT / "examples")
    monkeypatch.setenv(CONFIG_DIR_ENV, "multi-account/shared_config")
    assert (workspace.config_dir, workspace.state_dir) == (MULTI_ACCOUNT, multi)

    # a copy elsewhere, even of the same name, never shares its records
    copy = tmp_path_factory.mktemp("copy") / "multi-account" / "shared_config"
    shutil.copytree(MULTI_ACCOUNT, copy)
    monkeypatch.setenv(CONFIG_DIR_ENV, str(copy))
    assert workspace.state_dir.parent == multi.parent
    assert workspace.state_dir.name.startswith("multi-account-") and workspace.state_dir != multi
    vpc = ROOT / "examples" / "vpc" / "shared_config"
    monkeypatch.setenv(CONFIG_DIR_ENV, str(vpc))
    assert workspace.state_dir.name.startswith("vpc-")


def test_the_config_label_is_the_directory_as_given_relative_to_the_current_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(CONFIG_DIR_ENV, raising=False)
    assert config_label() == "shared_config"
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(CONFIG_DIR_ENV, str(MULTI_ACCOUNT))
    assert config_label() == MULTI_ACCOUNT_RELATIVE
    monkeypatch.chdir(tmp_path)
    assert config_label() == str(MULTI_ACCOUNT)


# -- repair hints -----------------------------------------------------------------------------------------------


def test_drift_repair_hints_name_the_config_directory_in_use(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # GIVEN the profile at examples/multi-account/shared_config below the current directory, with dev keeping raw
    # objects longer than staging (not an approved difference)
    copy = tmp_path / MULTI_ACCOUNT_RELATIVE
    shutil.copytree(MULTI_ACCOUNT, copy)
    dev = yaml.safe_load((copy / "dev.yaml").read_text())
    dev.setdefault("storage", {})["raw_retention_days"] = 90
    (copy / "dev.yaml").write_text(yaml.safe_dump(dev))
    monkeypatch.chdir(tmp_path)
    # WHEN drift compares dev with staging (the two environments without the replication layer: a quick render)
    argv = ("drift", "--env", "dev", "--env", "staging", "--no-cache", "--format", "json")
    code, out, err = run_cli(monkeypatch, capsys, *argv, "--config", MULTI_ACCOUNT_RELATIVE)
    # THEN the difference is drift, and every repair names that directory's files, never shared_config/'s
    assert code == 1, err
    report = json.loads(out)
    assert (report["environments"], report["baseline"]) == (["dev", "staging"], "staging")
    drift = [d for d in report["differences"] if d["status"] == "drift"]
    settings_rows = [(d["environment"], d["path"], d["repair"]) for d in drift if d["category"] == "settings"]
    assert settings_rows == [
        (
            "dev",
            "storage.raw_retention_days",
            f"edit {MULTI_ACCOUNT_RELATIVE}/dev.yaml "
            f"(or approve the path in {MULTI_ACCOUNT_RELATIVE}/approved_differences.yaml)",
        )
    ]
    structure = [d for d in drift if d["category"] == "structure"]
    assert structure, drift
    for row in structure:
        assert f"({MULTI_ACCOUNT_RELATIVE}/dev.yaml, projects/{row['layer']}/Pulumi.dev.yaml)" in row["repair"]
    hints = [d["repair"] for d in drift] + [json.dumps(report["repairs"])]
    assert all("shared_config" not in hint.replace(MULTI_ACCOUNT_RELATIVE, "") for hint in hints), hints
