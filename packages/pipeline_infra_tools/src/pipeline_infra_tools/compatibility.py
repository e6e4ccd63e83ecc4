"""Which pinned library versions this tool can run.

A project's program runs with the library version the project pins, while the tool reads settings, layers and
stack outputs with the library it was installed with. The two agree on the program contract
(`pipeline_infra.stack_config`, `pipeline_infra.layers`, the storage outputs) only within one minor series.
"""

from __future__ import annotations

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from pipeline_infra_tools.exceptions import UnsupportedLibraryError

SUPPORTED_LIBRARY = SpecifierSet(">=0.2,<0.3")


def check_supported(version: str, where: str) -> None:
    """Stop with a clear message when `version` (pinned in `where`) is outside SUPPORTED_LIBRARY."""
    try:
        parsed = Version(version)
    except InvalidVersion as err:
        raise UnsupportedLibraryError(f"{where}: pipeline-infra=={version} is not a valid version") from err
    if parsed not in SUPPORTED_LIBRARY:
        raise UnsupportedLibraryError(
            f"{where}: pipeline-infra=={version} is pinned, but this pipeline-infra-tools supports "
            f"pipeline-infra{SUPPORTED_LIBRARY}. Move the pin into that range (see README, "
            "'Releasing a library version'), or install a pipeline-infra-tools release that supports it."
        )


__all__ = ["SUPPORTED_LIBRARY", "check_supported"]
