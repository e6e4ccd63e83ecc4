"""The emulator process: moto's server, with the sandbox's correction of its policy evaluation applied first.

Run as `python -m pipeline_infra.sandbox.emulator -H 127.0.0.1 -p PORT` (server.py does this).
"""

from __future__ import annotations

import sys
from typing import Any


def _unknown_conditions_do_not_deny() -> None:
    """Emulator gap: moto evaluates a policy statement as if its Condition held whenever the request carries no
    value for the condition's keys (it has no request context for bucket policies).

    The data bucket's TLS-only statement (Deny s3:* when aws:SecureTransport is false) therefore denies every
    object request, so nothing could be written to a deployed bucket. In AWS a condition on a key the request
    does not carry is false, and the sandbox's loopback HTTP endpoint stands in for AWS's TLS one. The stored
    policy stays exactly as declared; only evaluation changes: a Deny statement with a condition on keys the
    request does not carry does not apply. Allow statements keep moto's behaviour.
    """
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    original = IAMPolicyStatement.is_action_permitted

    def is_action_permitted(
        self: IAMPolicyStatement,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        statement = self._statement
        conditions = statement.get("Condition") or {}
        if statement.get("Effect") == "Deny" and conditions:
            known = incoming_condition_values or {}
            keys = [key for values in conditions.values() for key in values]
            if any(key not in known for key in keys):
                return PermissionResult.NEUTRAL
        return original(self, action, resource, principal, incoming_condition_values)

    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]


def _schedules_do_not_match_events() -> None:
    """Emulator gap: moto matches a rule without an event pattern (a schedule-only rule) against every event.

    In AWS such a rule only fires on its schedule. In moto, every S3 or custom event would also go to the
    targets of the drift checker's schedule, and its Lambda target fails in the emulator, which ends delivery
    to the rules after it. A rule without a pattern is skipped when an event is routed.
    """
    from moto.events.models import Rule

    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if not self.event_pattern.get_pattern():
            return
        original(self, original_event, transform_input)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    _unknown_conditions_do_not_deny()
    _schedules_do_not_match_events()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
