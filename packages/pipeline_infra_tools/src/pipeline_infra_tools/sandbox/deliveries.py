"""Deliveries the sandbox refused because AWS would: one JSON log line each, and their count.

The emulator (for the deliveries it makes itself) and the local runtime (for the ones it plays) write the same
line to their logs; `sandbox status` counts them from there, so the logs are the one record.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from pipeline_infra_tools.sandbox.service_grants import Decision, ServiceRequest

REFUSED = "delivery_refused"


def refusal(request: ServiceRequest, decision: Decision, delivery: str, **details: Any) -> dict[str, Any]:
    """The log record of one refused delivery: which service, what it tried, for whom, and why not."""
    # Details come first so they can never overwrite the fields the record is found and counted by.
    return {
        **details,
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": "WARNING",
        "event": REFUSED,
        "delivery": delivery,
        "service": request.service,
        "action": request.action,
        "resource": request.resource,
        "source_arn": request.source_arn,
        "reason": decision.reason,
    }


def refusal_line(request: ServiceRequest, decision: Decision, delivery: str, **details: Any) -> str:
    return json.dumps(refusal(request, decision, delivery, **details), sort_keys=True, default=str)


def refused_deliveries(log_paths: Iterable[Path], since: float = 0.0) -> list[dict[str, Any]]:
    """Every refusal recorded in these logs at or after `since` (a Unix time), oldest first within each log."""
    found: list[dict[str, Any]] = []
    for path in log_paths:
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if REFUSED not in line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and record.get("event") == REFUSED and _at(record) >= since:
                    found.append(record)
    return found


def refusal_counts(log_paths: Iterable[Path], since: float = 0.0) -> dict[str, int]:
    """Refusals per delivery kind (`events-to-sqs`, `sns-to-sqs`, ...)."""
    return dict(Counter(str(r.get("delivery")) for r in refused_deliveries(log_paths, since)))


def _at(record: dict[str, Any]) -> float:
    try:
        return datetime.fromisoformat(str(record.get("timestamp"))).timestamp()
    except ValueError:
        return 0.0
