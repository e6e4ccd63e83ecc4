"""A zip unpacked once per content into a directory that appears whole, its Python modules byte-compiled."""

from __future__ import annotations

import compileall
import shutil
import tempfile
import zipfile
from pathlib import Path


def unpack_once(archive: Path, target: Path) -> Path:
    """`archive` unpacked at `target`, unless a directory is already there; returns `target`.

    Unpacked beside the target and renamed, so processes started at once never see a half-written tree. Its
    modules are compiled here because every process importing them would otherwise compile each one again: with
    PYTHONDONTWRITEBYTECODE set the interpreter never caches what it compiles.
    """
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    with zipfile.ZipFile(archive) as opened:
        opened.extractall(staging)
    # ddir: tracebacks name the files where they will be, not the staging directory.
    compileall.compile_dir(staging, ddir=str(target), quiet=2, workers=1)
    try:
        staging.rename(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process unpacked the same archive first
    return target
