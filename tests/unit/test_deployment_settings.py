"""Deployment roles, the organization id and the external id in settings: the shipped profiles load as documented,
and every bad value stops the load with the file and the key to fix."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from pydantic import ValidationError

from pipeline_infra.exceptions import SettingsError
from pipeline_infra.settings import DeploymentSettings, ProjectSettings, ReplicationSettings, load_settings
from tests.conftest import ROOT

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

MULTI_ACCOUNT = ROOT / "examples" / "multi-account" / "shared_config"
DEFAULT = ROOT / "shared_config"
# The multi-account profile as it is documented: each environment's region and account.
MULTI_ACCOUNT_PLACES = {
    "dev": ("us-east-2", "111111111111"),
    "staging": ("us-west-1", "222222222222"),
    "prod": ("us-east-1", "333333333333"),
}
ROLE = "arn:aws:iam::111111111111:role/pipeline-infra-deployment"


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    """A copy of the multi-account profile to break one key at a time."""
    target = tmp_path / "multi-account" / "shared_config"
    shutil.copytree(MULTI_ACCOUNT, target)
    return target


def edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text()) or {}
    change(data)
    path.write_text(yaml.safe_dump(data))


def load_error(config_dir: Path) -> str:
    with pytest.raises(SettingsError) as err:
        load_settings(config_dir)
    return str(err.value)


# -- the shipped profiles ---------------------------------------------------------------------------------------


def test_the_multi_account_profile_puts_each_environment_in_its_own_account_and_region() -> None:
    settings = load_settings(MULTI_ACCOUNT)
    assert {name: (env.region, env.account_id) for name, env in settings.environments.items()} == MULTI_ACCOUNT_PLACES
    assert settings.project.organization_id == "o-pipelinedemo"
    for name, env in settings.environments.items():
        assert env.deployment is not None, name
        assert env.deployment.role_account() == env.account_id
        assert env.deployment.role_arn == f"arn:aws:iam::{env.account_id}:role/pipeline-infra-deployment"
        assert (env.deployment.session_name, env.deployment.external_id, env.deployment.profile) == (
            "pipeline-infra-deploy",
            None,
            None,
        )
        assert env.replication.external_id is None
    assert len({env.account_id for env in settings.environments.values()}) == 3


def test_the_default_profile_is_one_account_without_deployment_roles() -> None:
    settings = load_settings(DEFAULT)
    assert {(env.region, env.account_id) for env in settings.environments.values()} == {("us-east-1", "123456789012")}
    assert [env.deployment for env in settings.environments.values()] == [None, None, None]
    assert settings.project.organization_id is None
    assert {env.replication.external_id for env in settings.environments.values()} == {None}


# -- the models -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arn", "account"),
    [
        (ROLE, "111111111111"),
        ("arn:aws:iam::222222222222:role/service-role/deploy", "222222222222"),
        ("arn:aws-us-gov:iam::333333333333:role/deploy", "333333333333"),
        ("arn:aws-cn:iam::444444444444:role/a+b=c,d.e@f_g-h", "444444444444"),
    ],
)
def test_a_role_arn_gives_its_account(arn: str, account: str) -> None:
    assert DeploymentSettings(role_arn=arn).role_account() == account


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::11111111111:role/deploy",  # 11 digits
        "arn:aws:iam::1111111111111:role/deploy",  # 13 digits
        "arn:aws:iam::111111111111:user/deploy",
        "arn:aws:sts::111111111111:assumed-role/deploy/session",
        "arn:aws:iam:us-east-1:111111111111:role/deploy",  # IAM is global: no region
        "arn:aws:iam::111111111111:role/",
        "arn:aws:iam::111111111111:role/two words",
        "pipeline-infra-deployment",
        "",
    ],
)
def test_anything_but_an_iam_role_arn_is_refused(arn: str) -> None:
    with pytest.raises(ValidationError, match="expected an IAM role ARN"):
        DeploymentSettings(role_arn=arn)


def test_deployment_defaults_and_limits() -> None:
    deployment = DeploymentSettings(role_arn=ROLE)
    assert (deployment.session_name, deployment.external_id, deployment.profile) == (
        "pipeline-infra-deploy",
        None,
        None,
    )
    assert DeploymentSettings(role_arn=ROLE, external_id="ab", profile="ops").external_id == "ab"
    assert DeploymentSettings(role_arn=ROLE, external_id="x" * 1224).external_id == "x" * 1224
    for bad in ({"external_id": "x"}, {"external_id": "x" * 1225}, {"external_id": "has space"}):
        with pytest.raises(ValidationError, match="external_id"):
            DeploymentSettings(role_arn=ROLE, **bad)
    for bad in ({"session_name": "a"}, {"session_name": "s" * 65}, {"session_name": "a/b"}):
        with pytest.raises(ValidationError, match="session_name"):
            DeploymentSettings(role_arn=ROLE, **bad)
    with pytest.raises(ValidationError, match="profile"):
        DeploymentSettings(role_arn=ROLE, profile="")
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        DeploymentSettings.model_validate({"role_arn": ROLE, "duration_seconds": 900})


def project(**extra: Any) -> dict[str, Any]:
    return {"name": "pipeline-infra", "environments": ["dev", "prod"], "source_environment": "prod", **extra}


@pytest.mark.parametrize("organization_id", ["o-pipelinedemo", "o-0123456789", "o-" + "a" * 32])
def test_organization_ids_aws_gives_are_accepted(organization_id: str) -> None:
    assert ProjectSettings.model_validate(project(organization_id=organization_id)).organization_id == organization_id


@pytest.mark.parametrize(
    "organization_id",
    ["pipelinedemo", "o-short", "o-" + "a" * 33, "o-PipelineDemo", "O-pipelinedemo", "o-pipeline_demo"],
)
def test_malformed_organization_ids_are_refused(organization_id: str) -> None:
    with pytest.raises(ValidationError, match="organization_id"):
        ProjectSettings.model_validate(project(organization_id=organization_id))


def test_the_replication_external_id_follows_sts_limits() -> None:
    assert ReplicationSettings(external_id="pipeline:replication/7f3a").external_id == "pipeline:replication/7f3a"
    for bad in ("x", "x" * 1225, "has space", "semi;colon"):
        with pytest.raises(ValidationError, match="external_id"):
            ReplicationSettings(external_id=bad)


# -- errors name the file and the key ---------------------------------------------------------------------------


def test_a_role_in_another_account_names_the_file_the_key_and_both_accounts(profile: Path) -> None:
    other = "arn:aws:iam::222222222222:role/pipeline-infra-deployment"
    edit(profile / "dev.yaml", lambda data: data["deployment"].update(role_arn=other))
    message = load_error(profile)
    assert message.startswith(f"{profile / 'dev.yaml'}: deployment: ")
    assert f"role_arn {other} is in account 222222222222" in message
    assert "account_id is 111111111111" in message


def test_changing_only_the_account_id_fails_the_role_check_too(profile: Path) -> None:
    edit(profile / "staging.yaml", lambda data: data.update(account_id="444444444444"))
    message = load_error(profile)
    assert message.startswith(f"{profile / 'staging.yaml'}: ")
    assert "is in account 222222222222, but account_id is 444444444444" in message


@pytest.mark.parametrize(
    "arn", ["arn:aws:iam::111111111111:user/pipeline-infra-deployment", "arn:aws:iam::111111111111:pipeline-infra"]
)
def test_a_malformed_role_arn_names_the_file_and_key(profile: Path, arn: str) -> None:
    edit(profile / "dev.yaml", lambda data: data["deployment"].update(role_arn=arn))
    message = load_error(profile)
    assert message.startswith(f"{profile / 'dev.yaml'}: deployment.role_arn: ")
    assert "expected an IAM role ARN" in message and repr(arn) in message


def test_a_deployment_without_a_role_names_the_key(profile: Path) -> None:
    edit(profile / "prod.yaml", lambda data: data.update(deployment={"session_name": "deploy"}))
    message = load_error(profile)
    # The loader blames the last file holding a missing key, and no file holds it, so the file named is not checked.
    assert ": deployment.role_arn: Field required" in message


def test_a_bad_organization_id_names_base_yaml_and_the_key(profile: Path) -> None:
    edit(profile / "base.yaml", lambda data: data["project"].update(organization_id="o-demo"))
    message = load_error(profile)
    assert message.startswith(f"{profile / 'base.yaml'}: project.organization_id: String should match pattern")
    assert "'o-demo'" in message


def test_a_bad_replication_external_id_names_the_file_and_key(profile: Path) -> None:
    edit(profile / "prod.yaml", lambda data: data["replication"].update(external_id="not allowed!"))
    message = load_error(profile)
    assert message.startswith(f"{profile / 'prod.yaml'}: replication.external_id: String should match pattern")
    assert "'not allowed!'" in message


def test_a_bad_deployment_external_id_names_the_file_and_key(profile: Path) -> None:
    edit(profile / "staging.yaml", lambda data: data["deployment"].update(external_id="x"))
    message = load_error(profile)
    assert message.startswith(f"{profile / 'staging.yaml'}: deployment.external_id: String should match pattern")


def test_a_deployment_key_set_in_base_defaults_is_blamed_on_base_yaml(profile: Path) -> None:
    edit(profile / "base.yaml", lambda data: data["defaults"].update(deployment={"session_name": "x"}))
    message = load_error(profile)
    # every environment overrides role_arn, so only the default's session name is wrong
    assert message.startswith(f"{profile / 'base.yaml'}: deployment.session_name: String should match pattern")


def test_good_values_load(profile: Path) -> None:
    edit(profile / "prod.yaml", lambda data: data["replication"].update(external_id="pipeline-replication-7f3a"))
    edit(profile / "dev.yaml", lambda data: data["deployment"].update(external_id="deploy-dev", profile="ops-dev"))
    settings = load_settings(profile)
    assert settings.source.replication.external_id == "pipeline-replication-7f3a"
    dev = settings.env("dev").deployment
    assert dev is not None
    assert (dev.external_id, dev.profile) == ("deploy-dev", "ops-dev")
