"""IAM roles and their inline policies: created and read, with what is attached to a role by hand."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

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
from pipeline_infra_tools.sandbox.resources.reading import (
    Extra,
    Inputs,
    Owned,
    ReadSpec,
    fixed_defaults,
    tag_state,
    tags_from_list,
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


def read_role(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    iam = ctx.clients.iam
    found = ignore_missing(iam.get_role, *MISSING, RoleName=id_)
    if found is None:
        return None
    role = found["Role"]
    # GetRole leaves tags out in some API versions; ListRoleTags always has them.
    tags = tags_from_list(iam.list_role_tags(RoleName=id_).get("Tags"))
    read = {
        "name": role["RoleName"],
        "path": role.get("Path", "/"),
        "assumeRolePolicy": role["AssumeRolePolicyDocument"],
        "description": role.get("Description") or "",
        "maxSessionDuration": role.get("MaxSessionDuration"),
    }
    if "managedPolicyArns" in inputs:
        read["managedPolicyArns"] = [p["PolicyArn"] for p in _attached(iam, id_)]
    if "permissionsBoundary" in inputs:
        read["permissionsBoundary"] = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    return {**read, **tag_state(tags, inputs, outputs)}


def _attached(iam: Any, role: str) -> list[dict[str, Any]]:
    paginator = iam.get_paginator("list_attached_role_policies")
    return [p for page in paginator.paginate(RoleName=role) for p in page.get("AttachedPolicies", [])]


def role_extras(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext, owned: Owned) -> list[Extra]:
    """Inline policies no stack records, and managed policies attached to a role whose code names none (when it
    names some, `managedPolicyArns` is read as a property instead): either grants what the code never reviewed."""
    iam = ctx.clients.iam
    found = []
    paginator = iam.get_paginator("list_role_policies")
    for name in (n for page in paginator.paginate(RoleName=id_) for n in page.get("PolicyNames", [])):
        if ("inline-policy", id_, name) not in owned:
            document = iam.get_role_policy(RoleName=id_, PolicyName=name)["PolicyDocument"]
            detail = document if isinstance(document, str) else json.dumps(document, sort_keys=True)
            found.append(Extra("inline-policy", f"{id_}/{name}", detail))
    if "managedPolicyArns" in inputs:
        return found
    for attached in _attached(iam, id_):
        found.append(Extra("attached-policy", f"{id_}/{attached['PolicyName']}", attached["PolicyArn"]))
    return found


def role_policy_key(id_: str, inputs: Inputs, outputs: Outputs) -> tuple[str, ...]:
    role, _, name = id_.partition(":")
    return ("inline-policy", role, name)


def read_role_policy(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    role, _, name = id_.partition(":")
    found = ignore_missing(ctx.clients.iam.get_role_policy, *MISSING, RoleName=role, PolicyName=name)
    if found is None:
        return None
    return {"role": found["RoleName"], "name": found["PolicyName"], "policy": found["PolicyDocument"]}


READERS = {
    "aws:iam/role:Role": ReadSpec(
        read_role,
        extras=role_extras,
        documents={"assumeRolePolicy": "policy"},
        sets={"managedPolicyArns": ""},
        # AWS's values for what the code leaves out, so a role changed by hand is seen.
        defaults=fixed_defaults({"maxSessionDuration": 3600}),
    ),
    "aws:iam/rolePolicy:RolePolicy": ReadSpec(read_role_policy, owns=role_policy_key, documents={"policy": "policy"}),
}
