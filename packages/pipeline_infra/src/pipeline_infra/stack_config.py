"""What a layer program reads from its stack: the keys of Pulumi.<env>.yaml and the variables the tool sets.

These names are the contract between a project's program (this library, at the version the project pins) and
whatever runs it: the Pulumi CLI on the aws target, the tool's mock runtime on the local one.
"""

from __future__ import annotations

# Keys of the project's namespace in Pulumi.<stack>.yaml.
ENVIRONMENT_KEY = "environment"
SUFFIX_KEY = "environmentSuffix"
FUNCTION_ARTIFACT_KEY = "functionArtifact"

# Environment variables, for what a stack file should not hold (a path on the machine that runs the program).
FUNCTION_ARTIFACT_ENV = "PIPELINE_FUNCTION_ARTIFACT"
CONFIG_DIR_ENV = "PIPELINE_CONFIG_DIR"

__all__ = ["CONFIG_DIR_ENV", "ENVIRONMENT_KEY", "FUNCTION_ARTIFACT_ENV", "FUNCTION_ARTIFACT_KEY", "SUFFIX_KEY"]
