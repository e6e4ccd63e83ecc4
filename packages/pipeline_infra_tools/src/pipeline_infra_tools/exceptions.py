"""Errors raised by the pipeline-infra tool. Every message says what was wrong and how to put it right.

The tool's errors do not derive from the library's: the harness that runs inside a program's process imports
nothing of the library, whose pinned version may differ from the one the tool was installed with.
"""

from __future__ import annotations


class ToolError(Exception):
    """Base error of the pipeline_infra_tools package."""


class ProjectError(ToolError):
    """A Pulumi project is missing, misconfigured or pinned to a library version that is not built."""


class UnsupportedLibraryError(ProjectError):
    """A project pins a library version outside the range this tool supports."""


class ProgramError(ToolError):
    """A Pulumi program failed while it ran under the mock runtime."""


class DeployError(ToolError):
    """A deploy, preview or destroy could not go on; the message names what is missing and how to fix it."""


class UnsupportedResourceError(DeployError):
    """The local target was asked to create a resource type it does not emulate."""
