"""IAM roles and their inline policies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from pipeline_infra_tools.sandbox.resources.base import (
    Outputs,
    ResourceContext,
    ResourceHandler,
    error_code,
    ignore_missing,
    integer,
    tag_list,
)

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest

MISSING = ("NoSuchEntity",)


def create_role(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    iam, inputs = ctx.clients.iam, request.inputs
    name = str(inputs.get("name") or request.name)
    trust = str(inputs["assumeRolePolicy"])
    description = str(inputs.get("description") or "")
    max_session = integer(inputs.get("maxSessionDuration", 3600))
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as err:
        if error_code(err) not in MISSING:
            raise
        role = iam.create_role(
            RoleName=name,
            Path=str(inputs.get("path") or "/"),
            AssumeRolePolicyDocument=trust,
            Description=description,
            MaxSessionDuration=max_session,
            Tags=tag_list(ctx.tags),
        )["Role"]
    else:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        iam.update_role(RoleName=name, Description=description, MaxSessionDuration=max_session)
        if ctx.tags:
            iam.tag_role(RoleName=name, Tags=tag_list(ctx.tags))
    for policy_arn in inputs.get("managedPolicyArns") or []:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
    return name, {"arn": role["Arn"], "uniqueId": role["RoleId"], "createDate": str(role["CreateDate"])}


def delete_role(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    iam = ctx.clients.iam
    try:
        # A role with policies cannot be deleted; inline policies of other stacks' resources go with it.
        for name in iam.list_role_policies(RoleName=id_)["PolicyNames"]:
            iam.delete_role_policy(RoleName=id_, PolicyName=name)
        for attached in iam.list_attached_role_policies(RoleName=id_)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=id_, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=id_)
    except ClientError as err:
        if error_code(err) not in MISSING:
            raise


def create_role_policy(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    role, name = str(request.inputs["role"]), str(request.inputs.get("name") or request.name)
    ctx.clients.iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=str(request.inputs["policy"]))
    return f"{role}:{name}", {"name": name}


def delete_role_policy(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    role, _, name = id_.partition(":")
    ignore_missing(ctx.clients.iam.delete_role_policy, *MISSING, RoleName=role, PolicyName=name)


HANDLERS = {
    "aws:iam/role:Role": ResourceHandler(create_role, delete_role),
    "aws:iam/rolePolicy:RolePolicy": ResourceHandler(create_role_policy, delete_role_policy),
}
