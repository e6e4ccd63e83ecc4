"""pipeline-infra: one infrastructure definition for every environment of the data pipeline."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pipeline-infra")
except PackageNotFoundError:  # running from an unpacked wheel without metadata on the path
    __version__ = "0.0.0"

__all__ = ["__version__"]
