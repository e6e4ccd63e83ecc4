"""Errors of the local sandbox. Each message says what was wrong and how to fix it."""

from __future__ import annotations

from pipeline_infra_tools.exceptions import DeployError, UnsupportedResourceError


class SandboxError(DeployError):
    """The emulator could not be started, reached or stopped."""


class EmulatorRequestError(DeployError):
    """The emulator rejected a request for one resource; the message names the resource and the call."""


__all__ = ["EmulatorRequestError", "SandboxError", "UnsupportedResourceError"]
