"""Settings: the shipped files load, and every kind of bad file stops with file, key and expectation."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest
import yaml

from pipeline_infra.exceptions import SettingsError
from pipeline_infra.settings import load_settings

if TYPE_CHECKING:
    from pathlib import Path

from tests.conftest import ROOT

SHIPPED = ROOT / "shared_config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "shared_config"
    shutil.copytree(SHIPPED, target)
    return target


def edit(path: Path, change: dict) -> None:
    data = yaml.safe_load(path.read_text()) or {}
    data.update(change)
    path.write_text(yaml.safe_dump(data))


def test_shipped_settings_give_the_documented_defaults() -> None:
    settings = load_settings(SHIPPED)
    memory = {name: env.functions.validator.memory_mb for name, env in settings.environments.items()}
    processor = {name: env.functions.task_processor.memory_mb for name, env in settings.environments.items()}
    retention = {name: env.functions.log_retention_days for name, env in settings.environments.items()}
    tracing = {name: env.functions.tracing for name, env in settings.environments.items()}
    assert memory == {"dev": 512, "staging": 1024, "prod": 2048}
    assert processor == {"dev": 512, "staging": 512, "prod": 1024}
    assert retention == {"dev": 7, "staging": 7, "prod": 30}
    assert tracing == {"dev": False, "staging": True, "prod": True}
    assert {env.functions.runtime for env in settings.environments.values()} == {"python3.12"}
    assert settings.source.replication.targets == ["dev", "staging"]
    for env in settings.environments.values():
        assert env.storage.config_table.billing.mode == "PAY_PER_REQUEST"
        assert env.notifications.queue_retention_seconds == 14 * 24 * 3600
        assert env.notifications.max_receive_count == 3


def test_unknown_key_names_file_and_key(config_dir: Path) -> None:
    edit(config_dir / "dev.yaml", {"storage": {"raw_retention_dayz": 3}})
    with pytest.raises(SettingsError) as err:
        load_settings(config_dir)
    message = str(err.value)
    assert str(config_dir / "dev.yaml") in message
    assert "storage.raw_retention_dayz" in message
    assert "Extra inputs are not permitted" in message


def test_wrong_type_names_expected_type(config_dir: Path) -> None:
    edit(config_dir / "staging.yaml", {"storage": {"raw_retention_days": "a month"}})
    with pytest.raises(SettingsError) as err:
        load_settings(config_dir)
    assert "staging.yaml: storage.raw_retention_days: Input should be a valid integer" in str(err.value)


def test_memory_below_128_is_rejected(config_dir: Path) -> None:
    edit(config_dir / "prod.yaml", {"functions": {"validator": {"memory_mb": 64}}})
    with pytest.raises(SettingsError) as err:
        load_settings(config_dir)
    assert "prod.yaml: functions.validator.memory_mb: Input should be greater than or equal to 128" in str(err.value)


def test_missing_environment_file(config_dir: Path) -> None:
    (config_dir / "staging.yaml").unlink()
    with pytest.raises(SettingsError, match=r"staging\.yaml: missing; every environment listed in .*base\.yaml"):
        load_settings(config_dir)


def test_bucket_name_over_63_characters_is_rejected_before_anything_runs(config_dir: Path) -> None:
    edit(config_dir / "staging.yaml", {"region": "ap-southeast-2"})
    base = yaml.safe_load((config_dir / "base.yaml").read_text())
    base["project"]["company"] = "analytics-company-incorporated"
    (config_dir / "base.yaml").write_text(yaml.safe_dump(base))
    edit(config_dir / "staging.yaml", {"suffix": "abcdefgh"})
    with pytest.raises(SettingsError) as err:
        load_settings(config_dir)
    assert "staging.yaml" in str(err.value)
    assert "analytics-company-incorporated-data-staging-ap-southeast-2-abcdefgh" in str(err.value)
    assert "S3 allows at most 63" in str(err.value)


def test_provisioned_billing_needs_capacity(config_dir: Path) -> None:
    edit(
        config_dir / "dev.yaml", {"storage": {"config_table": {"billing": {"mode": "PROVISIONED", "read_capacity": 1}}}}
    )
    with pytest.raises(SettingsError, match="PROVISIONED billing needs both read_capacity and write_capacity"):
        load_settings(config_dir)


def test_provisioned_profile_is_expressible(config_dir: Path) -> None:
    for env, capacity in (("dev", 1), ("staging", 5), ("prod", 10)):
        edit(
            config_dir / f"{env}.yaml",
            {
                "storage": {
                    "config_table": {
                        "billing": {"mode": "PROVISIONED", "read_capacity": capacity, "write_capacity": capacity}
                    }
                }
            },
        )
    settings = load_settings(config_dir)
    assert [settings.env(e).storage.config_table.billing.read_capacity for e in ("dev", "staging", "prod")] == [
        1,
        5,
        10,
    ]


def test_runtime_older_than_312_is_rejected(config_dir: Path) -> None:
    edit(config_dir / "dev.yaml", {"functions": {"runtime": "python3.9"}})
    with pytest.raises(SettingsError, match=r"dev\.yaml: functions\.runtime: String should match pattern"):
        load_settings(config_dir)


def test_timeout_over_five_minutes_is_rejected(config_dir: Path) -> None:
    edit(config_dir / "prod.yaml", {"functions": {"replicator": {"timeout_seconds": 900}}})
    with pytest.raises(
        SettingsError, match=r"functions\.replicator\.timeout_seconds: Input should be less than or equal to 300"
    ):
        load_settings(config_dir)


def test_unsupported_log_retention_is_rejected(config_dir: Path) -> None:
    edit(config_dir / "dev.yaml", {"functions": {"log_retention_days": 8}})
    with pytest.raises(SettingsError, match="log_retention_days must be one of"):
        load_settings(config_dir)


def test_replication_target_must_be_another_environment(config_dir: Path) -> None:
    edit(config_dir / "prod.yaml", {"replication": {"targets": ["dev", "qa"]}})
    with pytest.raises(SettingsError, match=r"prod\.yaml: replication\.targets: 'qa' must be one of"):
        load_settings(config_dir)


def test_project_error_names_the_project_key(config_dir: Path) -> None:
    base = yaml.safe_load((config_dir / "base.yaml").read_text())
    base["project"]["source_environment"] = "qa"
    (config_dir / "base.yaml").write_text(yaml.safe_dump(base))
    with pytest.raises(
        SettingsError, match=r"base\.yaml: project\.\(top level\): .*source_environment 'qa' must be one of"
    ):
        load_settings(config_dir)


def test_invalid_yaml_names_the_file(config_dir: Path) -> None:
    (config_dir / "dev.yaml").write_text("functions: [unclosed\n")
    with pytest.raises(SettingsError, match=r"dev\.yaml: not valid YAML"):
        load_settings(config_dir)
