"""The optional `network` of an environment: ids checked where they enter, and a VPC in only some environments
allowed only when approved_differences.yaml approves `network` itself."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest
import yaml

from pipeline_infra.exceptions import SettingsError
from pipeline_infra.settings import load_settings
from tests.unit.conftest import VPC_PROFILE

if TYPE_CHECKING:
    from pathlib import Path

    from pipeline_infra.settings import Settings


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    target = tmp_path / "shared_config"
    shutil.copytree(VPC_PROFILE, target)
    return target


def set_network(config: Path, env: str, network: dict | None) -> None:
    path = config / f"{env}.yaml"
    data = yaml.safe_load(path.read_text())
    if network is None:
        data.pop("network", None)
    else:
        data["network"] = network
    path.write_text(yaml.safe_dump(data))


def network_of(config: Path, env: str) -> dict:
    return dict(yaml.safe_load((config / f"{env}.yaml").read_text())["network"])


def test_the_vpc_profile_gives_every_environment_a_network(vpc_settings: Settings) -> None:
    for env in ("dev", "staging", "prod"):
        network = vpc_settings.env(env).network
        assert network is not None, env
        assert len(network.subnet_ids) >= 2 and network.route_table_ids and network.security_group_ids == []


def test_the_shipped_settings_have_no_network(settings: Settings) -> None:
    assert [env.network for env in settings.environments.values()] == [None, None, None]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("vpc_id", "vpc-XYZ", "malformed VPC id 'vpc-XYZ'"),
        ("subnet_ids", ["subnet-0d000000000000001", "subnet-12"], "malformed subnet id(s) ['subnet-12']"),
        ("subnet_ids", ["subnet-0d000000000000001"], "at least 2 items"),
        ("subnet_ids", ["subnet-0d000000000000001", "subnet-0d000000000000001"], "subnet ids must be unique"),
        ("route_table_ids", ["rtb-nope"], "malformed route table id(s)"),
        ("security_group_ids", ["sg-1"], "malformed security group id(s) ['sg-1']"),
    ],
)
def test_a_malformed_network_is_rejected_naming_file_and_key(
    profile: Path, key: str, value: object, expected: str
) -> None:
    network = {**network_of(profile, "staging"), key: value}
    set_network(profile, "staging", network)
    with pytest.raises(SettingsError) as raised:
        load_settings(profile)
    message = str(raised.value)
    assert f"staging.yaml: network.{key}" in message and expected in message, message


def test_a_vpc_in_one_environment_only_is_rejected_unless_network_is_approved(profile: Path) -> None:
    # GIVEN dev and staging without a VPC while prod keeps one
    set_network(profile, "dev", None)
    set_network(profile, "staging", None)
    # WHEN the settings load, THEN the difference is refused, naming both files and the approval it needs
    with pytest.raises(SettingsError) as raised:
        load_settings(profile)
    message = str(raised.value)
    assert "prod.yaml: network: set for ['prod'] but not for ['dev', 'staging']" in message, message
    assert "approved_differences.yaml" in message and "{path: network, reason: ...}" in message
    # AND approving only the ids is not approving the VPC's presence
    approved = profile / "approved_differences.yaml"
    assert "network.vpc_id" in approved.read_text()
    with pytest.raises(SettingsError):
        load_settings(profile)
    # WHEN `network` itself is approved THEN prod alone may run in a VPC
    data = yaml.safe_load(approved.read_text())
    data["settings"].append({"path": "network", "reason": "only prod runs in the company VPC"})
    approved.write_text(yaml.safe_dump(data))
    settings = load_settings(profile)
    assert settings.env("prod").network is not None and settings.env("dev").network is None
