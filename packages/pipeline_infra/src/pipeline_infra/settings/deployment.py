"""How the tool reaches an environment's account: the deployment role its stacks' AWS provider assumes.

Optional per environment. With it, one set of credentials (a CI role, an operator's profile) deploys every
environment: each stack's provider assumes the environment's role (the provider's own `assumeRoles`), so three
accounts deploy in one run. Without it, the credentials in use must already be the environment's account.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

ROLE_ARN = re.compile(r"arn:aws(-[a-z]+)*:iam::(?P<account>[0-9]{12}):role/[A-Za-z0-9_+=,.@/-]{1,512}")
# STS's limits: an external id is 2-1224 characters, a session name 2-64, both from this alphabet.
EXTERNAL_ID = r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$"
SESSION_NAME = r"^[A-Za-z0-9_+=,.@-]{2,64}$"
ORGANIZATION_ID = r"^o-[a-z0-9]{10,32}$"


class DeploymentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role_arn: str = Field(
        description="The role in this environment's account that deploys it; its account must be `account_id`.",
    )
    external_id: str | None = Field(
        None, pattern=EXTERNAL_ID, description="Passed as sts:ExternalId when the role's trust requires one."
    )
    profile: str | None = Field(
        None,
        min_length=1,
        description="AWS profile whose credentials assume the role (the aws target); default: the ambient ones.",
    )
    session_name: str = Field("pipeline-infra-deploy", pattern=SESSION_NAME)

    @field_validator("role_arn")
    @classmethod
    def _is_a_role_arn(cls, value: str) -> str:
        # Checked here rather than as a field pattern: pydantic's regex engine cannot compile it within its limits.
        if not ROLE_ARN.fullmatch(value):
            raise ValueError(f"expected an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>, got {value!r}")
        return value

    def role_account(self) -> str:
        found = ROLE_ARN.fullmatch(self.role_arn)
        if found is None:  # the field's validator makes this unreachable
            raise ValueError(f"malformed role ARN {self.role_arn!r}")
        return found["account"]


__all__ = ["EXTERNAL_ID", "ORGANIZATION_ID", "DeploymentSettings"]
