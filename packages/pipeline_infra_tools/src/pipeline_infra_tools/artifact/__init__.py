"""The deterministic Lambda function artifact (pipeline_functions and its runtime dependencies, no Pulumi)."""

from __future__ import annotations

from pipeline_infra_tools.artifact.builder import (
    FUNCTION_ARTIFACT_ENV,
    ArtifactError,
    build_function_artifact,
    find_repo_root,
    function_artifact_path,
)

__all__ = [
    "FUNCTION_ARTIFACT_ENV",
    "ArtifactError",
    "build_function_artifact",
    "find_repo_root",
    "function_artifact_path",
]
