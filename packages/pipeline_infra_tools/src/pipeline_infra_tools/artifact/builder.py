"""The deterministic function artifact: pipeline_functions plus its pure-Python runtime dependencies.

Same inputs give a byte-identical zip (sorted entries, 1980-01-01 timestamps, fixed permissions), named by
its content hash so an unchanged build is reused. boto3/botocore are left out (the Lambda runtime provides
them), so is anything compiled (``.so``/``.pyd``) and every ``__pycache__``. Pulumi is never included.
Dependencies are copied from the installed distributions, offline.
"""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from importlib import metadata
from pathlib import Path, PurePosixPath

from pipeline_infra.stack_config import FUNCTION_ARTIFACT_ENV
from pipeline_infra_tools.exceptions import ToolError

FUNCTIONS_PACKAGE = "pipeline_functions"
FUNCTIONS_SOURCE = Path("packages") / "pipeline_functions" / "src"
ARTIFACT_DIR = Path(".pipeline") / "artifacts"
# Distribution name -> top-level import packages taken from it (PyYAML: only the pure-python ``yaml``).
RUNTIME_DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "aws-lambda-powertools": ("aws_lambda_powertools",),
    "jmespath": ("jmespath",),
    "typing_extensions": ("typing_extensions.py",),
    "fastjsonschema": ("fastjsonschema",),
    "PyYAML": ("yaml",),
}
_EXCLUDED_SUFFIXES = (".so", ".pyd", ".pyc", ".pyo", ".dylib", ".dll")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644 << 16  # regular file, rw-r--r--


class ArtifactError(ToolError):
    """The function artifact cannot be built: its sources or a runtime dependency are missing."""


def find_repo_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` (default: cwd) that holds packages/pipeline_functions."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / FUNCTIONS_SOURCE / FUNCTIONS_PACKAGE).is_dir():
            return candidate
    raise ArtifactError(f"no {FUNCTIONS_SOURCE / FUNCTIONS_PACKAGE} found in {here} or any parent directory")


def _included(relative: PurePosixPath) -> bool:
    return "__pycache__" not in relative.parts and not relative.name.endswith(_EXCLUDED_SUFFIXES)


def _source_entries(repo_root: Path) -> dict[str, bytes]:
    src = repo_root / FUNCTIONS_SOURCE
    entries: dict[str, bytes] = {}
    for path in (src / FUNCTIONS_PACKAGE).rglob("*"):
        relative = PurePosixPath(path.relative_to(src).as_posix())
        if path.is_file() and _included(relative):
            entries[str(relative)] = path.read_bytes()
    return entries


def _dependency_entries() -> dict[str, bytes]:
    entries: dict[str, bytes] = {}
    for name, tops in RUNTIME_DISTRIBUTIONS.items():
        try:
            distribution = metadata.distribution(name)
        except metadata.PackageNotFoundError as exc:
            raise ArtifactError(f"runtime dependency {name} is not installed; install pipeline-functions") from exc
        found = False
        for file in distribution.files or ():
            relative = PurePosixPath(file.as_posix())
            if not relative.parts or relative.parts[0] not in tops or not _included(relative):
                continue
            entries[str(relative)] = Path(str(distribution.locate_file(file))).read_bytes()
            found = True
        if not found:
            raise ArtifactError(f"distribution {name} holds none of {tops}; the artifact would miss it")
    return entries


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = _FILE_MODE
            info.create_system = 3  # Unix, so the mode above is honoured on every build host
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name], compresslevel=9)
    return buffer.getvalue()


def build_function_artifact(output_dir: Path, repo_root: Path | None = None) -> Path:
    """Build (or reuse) ``output_dir/functions-<sha12>.zip`` and return its path."""
    root = find_repo_root(repo_root)
    entries = {**_dependency_entries(), **_source_entries(root)}
    if any(name.split("/", 1)[0] in {"pulumi", "pulumi_aws", "pipeline_infra"} for name in entries):
        raise ArtifactError("the function artifact must not contain pulumi or pipeline_infra")
    payload = _zip_bytes(entries)
    digest = hashlib.sha256(payload).hexdigest()[:12]
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"functions-{digest}.zip"
    if target.is_file() and target.stat().st_size == len(payload):
        return target
    # Write then rename, so a concurrent reader never sees a half-written artifact.
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(payload)
    partial.replace(target)
    return target


def function_artifact_path(repo_root: Path | None = None) -> Path:
    """$PIPELINE_FUNCTION_ARTIFACT if set, else the artifact built into ``<repo>/.pipeline/artifacts``."""
    override = os.environ.get(FUNCTION_ARTIFACT_ENV, "").strip()
    if override:
        path = Path(override)
        if not path.is_file():
            raise ArtifactError(f"{FUNCTION_ARTIFACT_ENV}={override} does not name an existing file")
        return path
    root = find_repo_root(repo_root)
    return build_function_artifact(root / ARTIFACT_DIR, root)
