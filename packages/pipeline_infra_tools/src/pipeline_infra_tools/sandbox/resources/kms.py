"""KMS keys (the failure topic's key): created, updated in place and read.

A key has no name: an update finds it by the id the stack records (`ResourceContext.previous_id`), and delete
schedules its deletion, as the provider does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipeline_infra_tools.sandbox.resources.base import (
    Outputs,
    ResourceContext,
    ResourceHandler,
    drop_none,
    ignore_missing,
    integer,
)
from pipeline_infra_tools.sandbox.resources.reading import Inputs, ReadSpec, tag_state

if TYPE_CHECKING:
    from pipeline_infra_tools.engine.backend import ResourceRequest

MISSING = ("NotFoundException",)
DEFAULT_POLICY = "default"
# KMS's longest wait before a scheduled deletion, which the provider uses when the code names none.
DEFAULT_DELETION_WINDOW_DAYS = 30
# What AWS holds for inputs the code leaves out. (Not keyUsage: it cannot change once the key exists, and the
# emulator reports it only when it was given.)
KEY_DEFAULTS = {"customerMasterKeySpec": "SYMMETRIC_DEFAULT", "isEnabled": True}


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"TagKey": key, "TagValue": value} for key, value in sorted(tags.items())]


def _live_key(kms: Any, key_id: str | None) -> dict[str, Any] | None:
    """The key, unless it is gone or waiting to be deleted (then an update makes a new one, as a refresh would)."""
    if not key_id:
        return None
    found = ignore_missing(kms.describe_key, *MISSING, KeyId=key_id)
    if found is None or found["KeyMetadata"].get("KeyState") == "PendingDeletion":
        return None
    metadata: dict[str, Any] = found["KeyMetadata"]
    return metadata


def create_key(request: ResourceRequest, ctx: ResourceContext) -> tuple[str, Outputs]:
    kms, inputs = ctx.clients.kms, request.inputs
    key = _live_key(kms, ctx.previous_id)
    if key is None:
        key = kms.create_key(
            **drop_none(
                {
                    "Description": inputs.get("description"),
                    "KeyUsage": inputs.get("keyUsage"),
                    "KeySpec": inputs.get("customerMasterKeySpec"),
                    "Policy": inputs.get("policy"),
                    "Tags": _tags(ctx.tags) or None,
                }
            )
        )["KeyMetadata"]
    else:
        if inputs.get("policy"):
            kms.put_key_policy(KeyId=key["KeyId"], PolicyName=DEFAULT_POLICY, Policy=str(inputs["policy"]))
        kms.update_key_description(KeyId=key["KeyId"], Description=str(inputs.get("description") or ""))
        if ctx.tags:
            kms.tag_resource(KeyId=key["KeyId"], Tags=_tags(ctx.tags))
    key_id = str(key["KeyId"])
    if inputs.get("enableKeyRotation"):
        kms.enable_key_rotation(KeyId=key_id)
    else:
        kms.disable_key_rotation(KeyId=key_id)
    return key_id, {"arn": key["Arn"], "keyId": key_id}


def delete_key(id_: str, outputs: Outputs, ctx: ResourceContext) -> None:
    kms = ctx.clients.kms
    if _live_key(kms, id_) is None:
        return
    days = outputs.get("deletionWindowInDays") or DEFAULT_DELETION_WINDOW_DAYS
    kms.schedule_key_deletion(KeyId=id_, PendingWindowInDays=integer(days))


HANDLERS = {"aws:kms/key:Key": ResourceHandler(create_key, delete_key)}


def read_key(id_: str, inputs: Inputs, outputs: Outputs, ctx: ResourceContext) -> Inputs | None:
    kms = ctx.clients.kms
    key = _live_key(kms, id_)
    if key is None:
        return None
    read: Inputs = {
        "description": key.get("Description"),
        "keyUsage": key.get("KeyUsage"),
        "customerMasterKeySpec": key.get("KeySpec") or key.get("CustomerMasterKeySpec"),
        "isEnabled": key.get("Enabled"),
        "multiRegion": key.get("MultiRegion"),
        "policy": kms.get_key_policy(KeyId=id_, PolicyName=DEFAULT_POLICY)["Policy"],
        "enableKeyRotation": kms.get_key_rotation_status(KeyId=id_)["KeyRotationEnabled"],
    }
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=id_).get("Tags", [])}
    return {**read, **tag_state(tags, inputs, outputs)}


READERS = {
    "aws:kms/key:Key": ReadSpec(
        read_key,
        documents={"policy": "policy"},
        defaults=lambda _inputs: dict(KEY_DEFAULTS),
        unreadable={"deletionWindowInDays": "KMS reports the window only once a deletion is scheduled"},
    )
}
