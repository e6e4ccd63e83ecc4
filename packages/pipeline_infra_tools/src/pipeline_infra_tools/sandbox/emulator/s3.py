"""Emulator patches to S3: its events, its atomicity, version actions and copies, and a memory leak."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any


def s3_events_as_aws_sends_them() -> None:
    """Emulator gaps in the S3 events it sends to EventBridge.

    - moto tags every new object through its own PutObjectTagging path, so every PutObject, CopyObject and
      CompleteMultipartUpload also sends "Object Tags Added". AWS sends that only for PutObjectTagging; here it
      is sent only while that API call is being served.
    - moto gives every S3 event the same id and sequencer. AWS gives each event its own id, and a sequencer that
      grows for later changes of a key; here each event gets a fresh id and a sequencer from a counter.
    """
    import itertools
    import threading
    import uuid

    from moto.events.models import Rule
    from moto.events.utils import _BASE_EVENT_MESSAGE
    from moto.s3 import notifications
    from moto.s3.responses import S3Response

    serving = threading.local()
    sequence = itertools.count(1)
    lock = threading.Lock()
    original_send, original_tagging = notifications.send_event, S3Response.put_object_tagging
    original_route = Rule.send_to_targets

    def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
        if event_name == notifications.S3NotificationEvent.OBJECT_TAGGING_PUT_EVENT and not getattr(
            serving, "tagging", False
        ):
            return
        original_send(account_id, event_name, bucket, key)

    def put_object_tagging(self: S3Response) -> Any:
        serving.tagging = True
        try:
            return original_tagging(self)
        finally:
            serving.tagging = False

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        # One S3 event is routed to every rule as the same dict: the first rule gives it its own identity.
        if original_event.get("source") == "aws.s3" and original_event.get("id") == _BASE_EVENT_MESSAGE["id"]:
            with lock:
                original_event["id"] = str(uuid.uuid4())
                obj = (original_event.get("detail") or {}).get("object")
                if isinstance(obj, dict):
                    obj["sequencer"] = f"{next(sequence):018X}"
        original_route(self, original_event, transform_input)

    notifications.send_event = send_event
    S3Response.put_object_tagging = put_object_tagging  # type: ignore[method-assign]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def object_writes_are_atomic() -> None:
    """Emulator gap: moto stores a new object, and sends its "Object Created" event, before it sets the object's
    metadata and tags. A reader in between (a replicator acting on the event, a test polling for the replica)
    sees the object without them; on AWS a PUT is atomic. Object reads and writes are serialised here, so a
    read waits until the write that made the object visible has finished."""
    import functools
    import threading

    from moto.s3.responses import S3Response

    lock = threading.RLock()

    def serialised(method: Any) -> Any:
        @functools.wraps(method)
        def call(self: S3Response, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        return call

    for name in ("_key_response_get", "_key_response_put", "_key_response_post", "head_object"):
        setattr(S3Response, name, serialised(getattr(S3Response, name)))


def delete_markers_can_be_disposed() -> None:
    """Emulator gap: removing a key from a bucket whose versioning is suspended disposes of every version of the
    key, and a delete marker has nothing to dispose of, so the request fails with a 500. Destroying a data bucket
    (versioning suspended, then every version deleted) failed this way once any object in it had been deleted.
    A delete marker holds no data: disposing of it does nothing.
    """
    from moto.s3.models import FakeDeleteMarker

    def dispose(self: FakeDeleteMarker, garbage: bool = False) -> None:
        return None

    FakeDeleteMarker.dispose = dispose  # type: ignore[attr-defined]


def delete_markers_send_their_event() -> None:
    """Emulator gap: a delete on a versioned bucket creates a delete marker but sends no event; AWS sends "Object
    Deleted" with `deletion-type` "Delete Marker Created". The event is sent here when the marker is created, in
    AWS's shape, to every rule of the bucket's account and region when the bucket sends events to EventBridge, so
    nothing has to list versions to find deletes. (Its id and sequencer come from the S3 event patch below.)
    """
    from moto.events.models import events_backends
    from moto.events.utils import _BASE_EVENT_MESSAGE
    from moto.s3.models import S3Backend

    original = S3Backend._set_delete_marker

    def set_delete_marker(self: S3Backend, bucket_name: str, key_name: str) -> Any:
        marker = original(self, bucket_name, key_name)
        bucket = self.get_bucket(bucket_name)
        configuration = bucket.notification_configuration
        if configuration is None or configuration.event_bridge is None:
            return marker
        event = copy.deepcopy(_BASE_EVENT_MESSAGE)
        event.update(
            {
                "detail-type": "Object Deleted",
                "source": "aws.s3",
                "account": self.account_id,
                "time": time.time(),
                "region": bucket.region_name,
                "resources": [bucket.arn],
                "detail": {
                    "version": "0",
                    "bucket": {"name": bucket.name},
                    "object": {"key": key_name, "version-id": marker.version_id, "sequencer": "0"},
                    "request-id": uuid.uuid4().hex[:16].upper(),
                    "requester": self.account_id,
                    "source-ip-address": "127.0.0.1",
                    "reason": "DeleteObject",
                    "deletion-type": "Delete Marker Created",
                },
            }
        )
        for bus in events_backends[self.account_id][bucket.region_name].event_buses.values():
            for rule in list(bus.rules.values()):
                rule.send_to_targets(event, transform_input=False)
        return marker

    S3Backend._set_delete_marker = set_delete_marker  # type: ignore[method-assign]


def version_listings_share_bodies() -> None:
    """Emulator gap (a leak): ListObjectVersions deep-copies every stored version, body included, into a new
    temporary file that is never closed; listing a bucket repeatedly grew the emulator by the bytes of all its
    versions each time (24 GB once). moto copies only so it can mark which version is the latest without touching
    the stored keys; here the copy is a view that shares the stored body instead, and never closes it.
    """
    import threading

    from moto.s3 import models

    listing = threading.local()

    class ListedKey(models.FakeKey):
        # moto's model registry names a class's service after its module.
        __module__ = models.__name__

        def __del__(self) -> None:
            # The body belongs to the stored key; a view going away must not close it.
            return None

    def view(key: Any) -> Any:
        if isinstance(key, models.FakeKey):
            listed = object.__new__(ListedKey)
            listed.__dict__.update(key.__dict__)
            return listed
        return copy.copy(key)

    class CopyInListings:
        """Stands in for the `copy` module inside moto's S3 models: only version listings copy differently."""

        def __getattr__(self, name: str) -> Any:
            return getattr(copy, name)

        def deepcopy(self, value: Any, memo: Any = None) -> Any:
            if getattr(listing, "active", False) and isinstance(value, list):
                return [view(item) for item in value]
            return copy.deepcopy(value, memo)

    original = models.S3Backend.list_object_versions

    def list_object_versions(self: Any, *args: Any, **kwargs: Any) -> Any:
        listing.active = True
        try:
            return original(self, *args, **kwargs)
        finally:
            listing.active = False

    models.copy = CopyInListings()  # type: ignore[assignment]
    models.S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign]


def object_versions_need_their_own_actions() -> None:
    """Emulator gap: S3 requests that name a version are checked as the plain object action, so a role without
    the version actions was let through where AWS refuses it. AWS checks `s3:GetObjectVersion` for a GET or HEAD
    with a `versionId`, and `s3:GetObjectVersionTagging` (Put..., Delete...) for tagging requests on a version;
    each such request is checked for that action here.
    """
    from moto.s3.responses import S3Response

    original = S3Response._set_action
    version_tagging = {
        "GET": "GetObjectVersionTagging",
        "PUT": "PutObjectVersionTagging",
        "DELETE": "DeleteObjectVersionTagging",
    }

    def set_action(self: S3Response, action_resource_type: str, method: str, querystring: dict[str, Any]) -> None:
        original(self, action_resource_type, method, querystring)
        if action_resource_type != "KEY" or "versionId" not in querystring:
            return
        if "tagging" in querystring and method in version_tagging:
            self.data["Action"] = version_tagging[method]
        elif method in ("GET", "HEAD") and not set(querystring) & {"acl", "uploadId", "tagging"}:
            self.data["Action"] = "GetObjectVersion"

    S3Response._set_action = set_action  # type: ignore[method-assign]


def copies_need_read_on_their_source() -> None:
    """Emulator gap: a server-side copy (CopyObject, UploadPartCopy) is checked only for writing its destination,
    so a role that may not read the source could copy it. AWS also checks `s3:GetObject` (`s3:GetObjectVersion`
    for a versioned source) on the source object; the copy is checked for that here first.
    """
    from urllib.parse import parse_qs, unquote, urlparse

    from moto.s3.responses import S3Response

    original = S3Response._key_response_put

    def key_response_put(self: S3Response, query: dict[str, Any], key_name: str) -> Any:
        source = self.headers.get("x-amz-copy-source")
        if source:
            text = source.decode("utf-8") if isinstance(source, bytes) else str(source)
            parsed = urlparse(text)
            bucket, _, key = unquote(parsed.path).lstrip("/").partition("/")
            versioned = "versionId" in parse_qs(parsed.query)
            self.data["Action"] = "GetObjectVersion" if versioned else "GetObject"
            self._authenticate_and_authorize_s3_action(bucket_name=bucket, key_name=key)
        return original(self, query, key_name)

    S3Response._key_response_put = key_response_put  # type: ignore[method-assign]
