"""Rendered stacks, cached under `<root>/.pipeline/render-cache/<key>/` by everything a rendering depends on.

Rendering runs every layer program in its own process (a fork of the program server, about a tenth of a
second each once the server has imported the SDK), so a cold drift run spends most of its time there. A
rendering is a pure function of the settings files, the layer projects' files, the pinned library wheels,
the function artifact and the tool versions, so those (and nothing else) make the key; any change to one of
them renders again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline_infra_tools.artifact import function_artifact_path
from pipeline_infra_tools.programs.render import render_stacks

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pipeline_infra.settings import Settings
    from pipeline_infra_tools.drift.graph_diff import StackDocument
    from pipeline_infra_tools.workspace import Workspace

CACHE_DIR_NAME = "render-cache"
CACHE_VERSION = "1"
# Cached renderings kept besides the newest; older ones are removed so the cache stays small.
KEEP_ENTRIES = 8
_TOOLS = ("pulumi", "pulumi_aws", "pydantic")


def _hash_tree(digest: hashlib._Hash, directory: Path) -> None:
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(directory)).encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())


def cache_key(workspace: Workspace, wanted: Sequence[tuple[str, str]]) -> str:
    """A digest of every input of the rendering of `wanted` (see the module docstring)."""
    digest = hashlib.sha256(f"{CACHE_VERSION}|{sys.version}".encode())
    for tool in _TOOLS:
        try:
            digest.update(f"{tool}={metadata.version(tool)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{tool}=absent".encode())
    _hash_tree(digest, workspace.config_dir)
    for layer in sorted({layer for layer, _ in wanted}):
        _hash_tree(digest, workspace.project(layer).directory)
        digest.update(hashlib.sha256(workspace.wheel(workspace.pinned_version(layer)).read_bytes()).digest())
    # The artifact's file name carries its content hash, and the rendering records that path.
    digest.update(str(function_artifact_path(workspace.root)).encode())
    digest.update(json.dumps(sorted(wanted)).encode())
    return digest.hexdigest()[:24]


def _stack_file(entry: Path, layer: str, env: str) -> Path:
    return entry / f"{layer}.{env}.json"


def rendered_documents(
    workspace: Workspace, settings: Settings, wanted: Sequence[tuple[str, str]], use_cache: bool = True
) -> dict[tuple[str, str], StackDocument]:
    """{(layer, env): render document of the stack} for `wanted`, from the cache when it is current."""
    if not wanted:
        return {}
    cache_root = workspace.state_dir / CACHE_DIR_NAME
    entry = cache_root / cache_key(workspace, wanted) if use_cache else None
    if entry is not None and entry.is_dir():
        try:
            return {
                (layer, env): json.loads(_stack_file(entry, layer, env).read_text(encoding="utf-8"))
                for layer, env in wanted
            }
        except (OSError, ValueError):
            shutil.rmtree(entry, ignore_errors=True)  # a damaged entry is rendered again, never trusted
    results = render_stacks(workspace, list(wanted), settings)
    documents = {stack: results[stack].to_json() for stack in wanted}
    if entry is not None:
        _store(cache_root, entry, documents)
    return documents


def _store(cache_root: Path, entry: Path, documents: dict[tuple[str, str], StackDocument]) -> None:
    cache_root.mkdir(parents=True, exist_ok=True)
    # Written beside the entry and renamed, so a concurrent run never reads half an entry.
    staging = Path(tempfile.mkdtemp(prefix=entry.name + ".", dir=cache_root))
    for (layer, env), document in documents.items():
        _stack_file(staging, layer, env).write_text(json.dumps(document, sort_keys=True, default=str), encoding="utf-8")
    try:
        staging.rename(entry)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another run stored the same entry first
    entries = sorted((p for p in cache_root.iterdir() if p.is_dir() and "." not in p.name), key=os.path.getmtime)
    for stale in entries[:-KEEP_ENTRIES]:
        shutil.rmtree(stale, ignore_errors=True)
