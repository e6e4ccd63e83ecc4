"""The repository a user works in: its layer projects, their library pins and the built wheels."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline_infra.layers import LAYERS
from pipeline_infra.stack_config import CONFIG_DIR_ENV
from pipeline_infra_tools.compatibility import check_supported
from pipeline_infra_tools.engine.harness import PulumiProject
from pipeline_infra_tools.exceptions import ProjectError
from pipeline_infra_tools.unpacking import unpack_once

ROOT_ENV = "PIPELINE_ROOT"
STATE_DIR_NAME = ".pipeline"
DEFAULT_CONFIG_DIR = "shared_config"
PROFILES_DIR = "profiles"
PIN = re.compile(r"^\s*pipeline-infra\s*==\s*([0-9A-Za-z.+-]+)\s*$")
WHEEL = re.compile(r"^pipeline_infra-([^-]+)-py3-none-any\.whl$")


def find_root(start: Path | None = None) -> Path:
    """$PIPELINE_ROOT, else the nearest directory above `start` holding projects/ and shared_config/."""
    if os.environ.get(ROOT_ENV):
        return Path(os.environ[ROOT_ENV]).resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "projects").is_dir() and (candidate / "shared_config").is_dir():
            return candidate
    raise ProjectError(f"no pipeline-infra workspace (projects/ and shared_config/) in {here} or above; set {ROOT_ENV}")


def config_label() -> str:
    """The settings directory as repair hints name it: `--config`'s directory (relative to the current one where
    it lies below it), else shared_config."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if not override:
        return DEFAULT_CONFIG_DIR
    path = Path(override).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def command_prefix() -> str:
    """How a printed command starts: `pipeline-infra`, with `--config DIR` when another settings directory than
    the default is in use, so a repair runs as printed against the same settings (and sandbox)."""
    label = config_label()
    return "pipeline-infra" if label == DEFAULT_CONFIG_DIR else f"pipeline-infra --config {label}"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @classmethod
    def discover(cls, start: Path | None = None) -> Workspace:
        return cls(find_root(start))

    @property
    def state_dir(self) -> Path:
        """Where the local target keeps its sandbox and stacks: one per settings directory, so two profiles'
        stacks of the same name (dev in one account, dev in three) never mix in one record."""
        base = self.root / STATE_DIR_NAME
        config = self.config_dir.resolve()
        if config == (self.root / DEFAULT_CONFIG_DIR).resolve():
            return base
        digest = hashlib.sha256(str(config).encode()).hexdigest()[:8]
        label = re.sub(r"[^a-z0-9-]+", "-", config.parent.name.lower()).strip("-") or "profile"
        return base / PROFILES_DIR / f"{label}-{digest}"

    @property
    def dist_dir(self) -> Path:
        return self.root / "dist"

    @property
    def config_dir(self) -> Path:
        """$PIPELINE_CONFIG_DIR (set by `--config DIR`) relative to the current directory, else shared_config/."""
        override = os.environ.get(CONFIG_DIR_ENV)
        if override:
            return Path(override).resolve()
        return self.root / DEFAULT_CONFIG_DIR

    def project(self, layer: str) -> PulumiProject:
        if layer not in LAYERS:
            raise ProjectError(f"unknown layer {layer!r}; expected one of {list(LAYERS)}")
        directory = self.root / "projects" / layer
        if not (directory / "Pulumi.yaml").is_file():
            raise ProjectError(f"{directory}/Pulumi.yaml is missing")
        return PulumiProject(directory)

    def layers_for(self, env: str) -> list[str]:
        """Layers that have a stack for `env`, in dependency order."""
        return [layer for layer in LAYERS if env in self.project(layer).stacks()]

    def pinned_version(self, layer: str) -> str:
        requirements = self.project(layer).directory / "requirements.txt"
        if not requirements.is_file():
            raise ProjectError(f"{requirements}: missing; each project pins its library as 'pipeline-infra==X.Y.Z'")
        for line in requirements.read_text(encoding="utf-8").splitlines():
            match = PIN.match(line)
            if match:
                check_supported(match.group(1), str(requirements))
                return match.group(1)
        raise ProjectError(f"{requirements}: no exact pin 'pipeline-infra==X.Y.Z' found")

    def built_versions(self) -> list[str]:
        if not self.dist_dir.is_dir():
            return []
        return sorted(m.group(1) for p in self.dist_dir.iterdir() if (m := WHEEL.match(p.name)))

    def wheel(self, version: str) -> Path:
        path = self.dist_dir / f"pipeline_infra-{version}-py3-none-any.whl"
        if not path.is_file():
            built = ", ".join(self.built_versions()) or "none"
            raise ProjectError(
                f"pipeline-infra {version} is pinned but not built ({path} is missing; built: {built}). "
                "Run `nox -s build` for the current version, or change the project's pin in requirements.txt."
            )
        return path

    def library_path(self, layer: str) -> Path:
        """A directory holding the pinned wheel unpacked, to put first on a program's PYTHONPATH."""
        version = self.pinned_version(layer)
        wheel = self.wheel(version)
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()[:12]
        return unpack_once(wheel, self.root / STATE_DIR_NAME / "lib" / f"pipeline_infra-{version}-{digest}")
