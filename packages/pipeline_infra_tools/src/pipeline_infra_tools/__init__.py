"""pipeline-infra-tools: the `pipeline-infra` command that renders, deploys and checks the layer projects."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pipeline-infra-tools")
except PackageNotFoundError:  # running from a source tree without installed metadata
    __version__ = "0.0.0"

__all__ = ["__version__"]
