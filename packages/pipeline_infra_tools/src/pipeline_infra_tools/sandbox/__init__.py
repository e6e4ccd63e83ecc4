"""The local sandbox: a moto server on 127.0.0.1 that the local target deploys every stack to."""

from __future__ import annotations

from pipeline_infra_tools.sandbox.exceptions import EmulatorRequestError, SandboxError
from pipeline_infra_tools.sandbox.manager import Sandbox, SandboxStatus
from pipeline_infra_tools.sandbox.state import SandboxState, SandboxStateFile

__all__ = ["EmulatorRequestError", "Sandbox", "SandboxError", "SandboxState", "SandboxStateFile", "SandboxStatus"]
