"""What happened to one change in one target environment."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

REPLICATED = "replicated"
DELETED = "deleted"
SKIPPED = "skipped"
# Could not be written now (a target error): retried, then dead-lettered.
FAILED = "failed"
# Must not be written at all (it would put a prod identifier in the target, or cannot be rewritten): nothing
# is written and the change is dead-lettered at once, since retrying cannot change the answer.
REFUSED = "refused"
UNSUCCESSFUL = frozenset({FAILED, REFUSED})


@dataclass(frozen=True)
class TargetResult:
    environment: str
    outcome: str
    reason: str = ""
    bytes_copied: int = 0
    rewritten: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SourceObject:
    """The prod object as it is now (HEAD), which is what gets replicated, whatever the event said."""

    key: str
    size: int
    etag: str
    version_id: str | None
    last_modified: str  # ISO 8601 UTC
    content_type: str
    metadata: dict[str, str]
    # Content-Encoding, Cache-Control, ... as PutObject/CopyObject parameters; kept on every replica.
    headers: dict[str, Any] = field(default_factory=dict)
