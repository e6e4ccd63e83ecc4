"""Settings drift and approval rules, on copies of shared_config/ edited one case at a time."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.drift import Status, check_rule, compare_settings, find_approval, path_matches
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline_infra_tools.drift import Difference

ENVS = ("dev", "staging", "prod")


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "shared_config"
    shutil.copytree(ROOT / "shared_config", target)
    return target


def edit(path: Path, change: dict[str, Any]) -> None:
    """Deep-merge `change` into a YAML file, as a person editing one key would."""

    def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
        for key, value in extra.items():
            base[key] = merge(base.get(key) or {}, value) if isinstance(value, dict) else value
        return base

    path.write_text(yaml.safe_dump(merge(yaml.safe_load(path.read_text()) or {}, change)))


def drift_in(config_dir: Path) -> list[Difference]:
    differences = compare_settings(load_settings(config_dir), ENVS, "prod")
    return [d for d in differences if d.status is Status.DRIFT]


def test_shipped_settings_have_only_approved_differences() -> None:
    differences = compare_settings(load_settings(ROOT / "shared_config"), ENVS, "prod")
    assert [d for d in differences if d.status is Status.DRIFT] == []
    paths = {d.path for d in differences}
    assert {"functions.validator.memory_mb", "functions.tracing", "functions.log_retention_days"} <= paths
    memory = next(d for d in differences if d.path == "functions.validator.memory_mb")
    assert memory.rule_result == "non_decreasing holds: dev 512 <= staging 1024 <= prod 2048"


def test_unapproved_setting_is_drift_with_the_file_to_edit(config_dir: Path) -> None:
    edit(config_dir / "staging.yaml", {"storage": {"raw_retention_days": 90}})
    drift = drift_in(config_dir)
    assert [(d.environment, d.path, d.values) for d in drift] == [
        ("staging", "storage.raw_retention_days", {"prod": 30, "staging": 90})
    ]
    assert drift[0].repair.startswith("edit shared_config/staging.yaml")


def test_point_in_time_recovery_off_in_one_env_is_drift(config_dir: Path) -> None:
    edit(config_dir / "dev.yaml", {"storage": {"metadata_table": {"point_in_time_recovery": False}}})
    assert [(d.environment, d.path) for d in drift_in(config_dir)] == [
        ("dev", "storage.metadata_table.point_in_time_recovery")
    ]


def test_different_runtime_in_dev_is_drift(config_dir: Path) -> None:
    edit(config_dir / "dev.yaml", {"functions": {"runtime": "python3.13"}})
    assert [(d.environment, d.path, d.values) for d in drift_in(config_dir)] == [
        ("dev", "functions.runtime", {"prod": "python3.12", "dev": "python3.13"})
    ]


def test_approved_difference_breaking_its_rule_is_drift(config_dir: Path) -> None:
    # GIVEN staging's validator given more memory than prod's, a path approved with rule non_decreasing
    edit(config_dir / "staging.yaml", {"functions": {"validator": {"memory_mb": 4096}}})
    # WHEN the settings are compared
    drift = drift_in(config_dir)
    # THEN every pair on that path is drift, naming the approval and where the order breaks
    assert {(d.environment, d.path) for d in drift} == {
        ("dev", "functions.validator.memory_mb"),
        ("staging", "functions.validator.memory_mb"),
    }
    assert all(d.approval is not None and d.approval.rule == "non_decreasing" for d in drift)
    assert drift[0].rule_result == "non_decreasing broken: staging 4096 > prod 2048"


def test_non_increasing_rule_and_non_numbers() -> None:
    assert check_rule("non_increasing", [("dev", 30), ("staging", 14), ("prod", 7)]) == (
        True,
        "non_increasing holds: dev 30 >= staging 14 >= prod 7",
    )
    assert check_rule("non_increasing", [("dev", 7), ("prod", 30)])[0] is False
    holds, sentence = check_rule("non_decreasing", [("dev", "a"), ("prod", "b")])
    assert not holds and "needs numbers" in sentence


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("functions.*.memory_mb", "functions.validator.memory_mb", True),
        ("functions.*.memory_mb", "functions.validator.timeout_seconds", False),
        ("replication.overlay", "replication.overlay.logging.level", True),
        ("replication.overlay.logging", "replication.overlay", False),
        ("aws:sns/topicSubscription:TopicSubscription", "aws:sns/topicSubscription:TopicSubscription", True),
        ("aws:lambda/function:Function.memorySize", "aws:lambda/function:Function.timeout", False),
        ("aws:iam/rolePolicy:RolePolicy.policy.Statement[Upload*]", "aws:iam/rolePolicy:RolePolicy.policy."
         "Statement[UploadTraces].Action", True),
        ("aws:iam/rolePolicy:RolePolicy.policy.Statement[*]", "aws:iam/rolePolicy:RolePolicy.policy.Version", False),
    ],
)  # fmt: skip
def test_path_patterns(pattern: str, path: str, matches: bool) -> None:
    assert path_matches(pattern, path) is matches


def test_most_specific_approval_wins() -> None:
    approved = load_settings(ROOT / "shared_config").approved
    entry = find_approval(approved.settings, "functions.validator.memory_mb")
    assert entry is not None and entry.rule == "non_decreasing"
    assert find_approval(approved.settings, "functions.runtime") is None
