"""Settings' `monitoring` section: the shipped alarm thresholds, and every bad value stops with file and key."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest
import yaml

from pipeline_infra.exceptions import SettingsError
from pipeline_infra.settings import load_settings
from pipeline_infra.settings.models import schedule_interval_seconds, staleness_window
from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

SHIPPED = ROOT / "shared_config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "shared_config"
    shutil.copytree(SHIPPED, target)
    return target


def set_in_prod(config_dir: Path, section: str, value: dict) -> None:
    path = config_dir / "prod.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    data.setdefault(section, {}).update(value)
    path.write_text(yaml.safe_dump(data))


def test_shipped_thresholds_alarm_on_any_dead_letter_and_rtcs_fifteen_minutes() -> None:
    settings = load_settings(SHIPPED)
    prod, dev = settings.env("prod").monitoring, settings.env("dev").monitoring
    assert (prod.dead_letter_queues.period_seconds, prod.dead_letter_queues.evaluation_periods) == (60, 1)
    assert prod.replication_lag.threshold == 900
    assert (prod.function_errors.threshold, dev.function_errors.threshold) == (1, 5)
    assert prod.drift_check.staleness_margin_seconds == 3600
    assert settings.env("prod").drift_check_window() == (3600, 25)


def test_a_period_cloudwatch_refuses_names_file_and_key(config_dir: Path) -> None:
    set_in_prod(config_dir, "monitoring", {"replication_lag": {"period_seconds": 90}})
    with pytest.raises(SettingsError) as err:
        load_settings(config_dir)
    assert "prod.yaml: monitoring.replication_lag" in str(err.value)
    assert "10, 20, 30 or a multiple of 60" in str(err.value)


def test_an_evaluation_range_over_a_day_needs_hourly_periods(config_dir: Path) -> None:
    set_in_prod(config_dir, "monitoring", {"function_errors": {"period_seconds": 300, "evaluation_periods": 300}})
    with pytest.raises(SettingsError, match=r"monitoring.function_errors.*at most 86400 seconds"):
        load_settings(config_dir)


def test_a_dead_letter_alarm_has_no_threshold_to_set(config_dir: Path) -> None:
    set_in_prod(config_dir, "monitoring", {"dead_letter_queues": {"threshold": 5}})
    with pytest.raises(SettingsError, match=r"monitoring.dead_letter_queues.threshold: Extra inputs"):
        load_settings(config_dir)


def test_a_cron_drift_schedule_needs_its_interval(config_dir: Path) -> None:
    set_in_prod(config_dir, "replication", {"drift_schedule": "cron(0 6 * * ? *)"})
    with pytest.raises(SettingsError, match=r"monitoring\.drift_check\.schedule_interval_seconds is required"):
        load_settings(config_dir)
    set_in_prod(config_dir, "monitoring", {"drift_check": {"schedule_interval_seconds": 86400}})
    assert load_settings(config_dir).env("prod").drift_check_window() == (3600, 25)


def test_a_drift_check_window_over_a_week_cannot_be_watched(config_dir: Path) -> None:
    set_in_prod(config_dir, "replication", {"drift_schedule": "rate(7 days)"})
    with pytest.raises(SettingsError, match="longer than an alarm can watch"):
        load_settings(config_dir)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 day)", 86400), ("rate(12 hours)", 43200), ("rate(5 minutes)", 300), ("cron(0 6 * * ? *)", None)],
)
def test_schedule_intervals(expression: str, seconds: int | None) -> None:
    assert schedule_interval_seconds(expression) == seconds


def test_short_windows_are_watched_by_the_minute() -> None:
    assert staleness_window(300, 600) == (60, 15)
    assert staleness_window(86400, 3600) == (3600, 25)
