"""Where the emulator serves a queue named by its ARN."""

from __future__ import annotations


def queue_url(arn: str, endpoint: str) -> str:
    """The emulator's URL of the queue named by an SQS ARN."""
    account, name = arn.split(":")[4:6]
    return f"{endpoint}/{account}/{name}"
