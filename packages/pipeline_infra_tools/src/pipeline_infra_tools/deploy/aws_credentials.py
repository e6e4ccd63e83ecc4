"""The aws target's check that an environment's deployment role can be reached, before any stack runs.

Each stack's AWS provider assumes `deployment.role_arn` itself (`pipeline_infra.context.deployment_credentials`), so
one set of base credentials deploys every account and region. This module does the same AssumeRole once per
environment, through boto3, so that a trust policy, external id or profile that is wrong fails in seconds with a
message naming the fix, rather than minutes into an update with the provider's error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, ProfileNotFound
from botocore.exceptions import ConnectionError as BotoConnectionError

from pipeline_infra_tools.exceptions import DeployError
from pipeline_infra_tools.workspace import config_label

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_sts.client import STSClient

    from pipeline_infra.settings import DeploymentSettings, EnvironmentSettings

CREDENTIALS_HINT = "set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login`"
# STS not answering says nothing about the credentials, so these get a network hint rather than a credentials one.
UNREACHABLE = (BotoConnectionError, HTTPClientError)


class SessionFactory(Protocol):
    """Makes a boto3 session; `boto3.Session` is one. `profile_name` is passed only when settings name a profile, so
    a factory that takes no arguments still serves every environment that names none."""

    def __call__(self, *, profile_name: str | None = None) -> boto3.Session: ...


@dataclass(frozen=True)
class AssumedRole:
    """Who assumed the role (the base credentials) and who that made us in the environment's account."""

    caller_arn: str
    assumed_arn: str
    account: str


def check_deployment_role(env: EnvironmentSettings, session_factory: SessionFactory) -> AssumedRole:
    """Assume `env.deployment`'s role from the base credentials, in the env's region, and confirm the account.

    The base session's region is deliberately not compared with the env's: the same credentials serve every
    environment's region, and the provider sets its own region from settings.
    """
    deployment = env.deployment
    if deployment is None:
        raise ValueError(f"env {env.name} names no deployment role")  # callers dispatch on it; a programming error
    settings_file = f"{config_label()}/{env.name}.yaml"
    role = deployment.role_arn
    session = _base_session(env, deployment, session_factory, settings_file)
    sts = session.client("sts", region_name=env.region)
    caller = _base_caller(env, deployment, sts, settings_file)
    credentials = _assume(env, deployment, sts, caller, settings_file)
    try:
        # The assumed credentials go to a client of the same session: boto3 signs, nothing here does.
        assumed = session.client(
            "sts",
            region_name=env.region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        ).get_caller_identity()
    except (BotoCoreError, ClientError) as exc:
        if isinstance(exc, UNREACHABLE):
            raise _unreachable(env, exc) from exc
        # GetCallerIdentity needs no permission, so a refusal here is about the session, not the role's policies.
        raise DeployError(
            f"env {env.name}: assumed {role}, but STS in {env.region} refused its temporary credentials "
            f"({_describe(exc)}): check that STS is enabled in {env.region} for account {env.account_id}."
        ) from exc
    if assumed["Account"] != env.account_id:
        raise DeployError(
            f"env {env.name}: assumed role landed in account {assumed['Account']} but settings say "
            f"{env.account_id}: {role} made us {assumed['Arn']}; make deployment.role_arn and account_id in "
            f"{settings_file} name the environment's account."
        )
    return AssumedRole(caller_arn=caller, assumed_arn=assumed["Arn"], account=assumed["Account"])


def _base_session(
    env: EnvironmentSettings, deployment: DeploymentSettings, session_factory: SessionFactory, settings_file: str
) -> boto3.Session:
    """The session whose credentials assume the role: `deployment.profile`'s, else the ambient ones."""
    source = f"AWS profile {deployment.profile!r}" if deployment.profile else "the ambient AWS credentials"
    try:
        session = session_factory(profile_name=deployment.profile) if deployment.profile else session_factory()
        credentials = session.get_credentials()
    except ProfileNotFound as exc:
        # Names whichever profile was missing: settings' own, or one that AWS_PROFILE names.
        missing = exc.kwargs.get("profile", deployment.profile)
        where = (
            f"deployment.profile in {settings_file}"
            if deployment.profile
            else "from AWS_PROFILE or AWS_DEFAULT_PROFILE"
        )
        raise DeployError(
            f"env {env.name}: AWS profile {missing!r} ({where}) is not in ~/.aws/config or ~/.aws/credentials, so "
            f"{deployment.role_arn} cannot be assumed: add the profile (`aws configure --profile {missing}` or "
            f"`aws configure sso`), or set deployment.profile in {settings_file} to one that exists."
        ) from exc
    except (BotoCoreError, ClientError) as exc:
        raise DeployError(
            f"env {env.name}: {source} could not be loaded to assume {deployment.role_arn} ({_describe(exc)}): "
            f"{CREDENTIALS_HINT}, or refresh expired ones."
        ) from exc
    if credentials is None:
        raise DeployError(
            f"env {env.name}: no AWS credentials to assume {deployment.role_arn} with ({source} gave none): "
            f"{CREDENTIALS_HINT}; or set deployment.profile in {settings_file}."
        )
    return session


def _base_caller(env: EnvironmentSettings, deployment: DeploymentSettings, sts: STSClient, settings_file: str) -> str:
    """The base credentials' ARN: the principal the role's trust policy has to admit."""
    try:
        return sts.get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError) as exc:
        if isinstance(exc, UNREACHABLE):
            raise _unreachable(env, exc) from exc
        raise DeployError(
            f"env {env.name}: the AWS credentials that should assume {deployment.role_arn} could not be used "
            f"({_describe(exc)}): {CREDENTIALS_HINT}, or refresh expired ones; or set deployment.profile in "
            f"{settings_file}."
        ) from exc


def _assume(
    env: EnvironmentSettings, deployment: DeploymentSettings, sts: STSClient, caller: str, settings_file: str
) -> dict[str, str]:
    role = deployment.role_arn
    try:
        # ExternalId only when settings give one: STS rejects an empty one, and most roles' trust requires none.
        if deployment.external_id is not None:
            response = sts.assume_role(
                RoleArn=role, RoleSessionName=deployment.session_name, ExternalId=deployment.external_id
            )
        else:
            response = sts.assume_role(RoleArn=role, RoleSessionName=deployment.session_name)
    except ClientError as exc:
        if _code(exc) == "AccessDenied":
            raise DeployError(
                f"env {env.name}: cannot assume {role}: {_message(exc)}; the role's trust policy must admit "
                f"{caller} (and that principal's policies allow sts:AssumeRole on the role), or set "
                f"deployment.profile / external_id in {settings_file}."
            ) from exc
        raise DeployError(
            f"env {env.name}: cannot assume {role} as {caller} in {env.region}: {_describe(exc)}; check "
            f"deployment.role_arn and session_name in {settings_file} and that STS is enabled in {env.region}."
        ) from exc
    except BotoCoreError as exc:
        if isinstance(exc, UNREACHABLE):
            raise _unreachable(env, exc) from exc
        raise DeployError(f"env {env.name}: STS could not be asked to assume {role} as {caller} ({exc}).") from exc
    credentials = response["Credentials"]
    return {
        "AccessKeyId": credentials["AccessKeyId"],
        "SecretAccessKey": credentials["SecretAccessKey"],
        "SessionToken": credentials["SessionToken"],
    }


def _unreachable(env: EnvironmentSettings, exc: BotoCoreError) -> DeployError:
    return DeployError(
        f"env {env.name}: STS in {env.region} could not be reached ({exc}), so the deployment role was not "
        f"checked: check the network (proxy, VPC endpoint, AWS_ENDPOINT_URL) and that {env.region} is enabled."
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def _describe(exc: BotoCoreError | ClientError) -> str:
    """`Code: message` for an AWS error (what an operator searches for), botocore's own text otherwise."""
    if isinstance(exc, ClientError) and _code(exc):
        return f"{_code(exc)}: {_message(exc)}"
    return str(exc)


__all__ = ["AssumedRole", "SessionFactory", "check_deployment_role"]
