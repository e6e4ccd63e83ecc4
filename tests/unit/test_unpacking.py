"""Archives unpacked once, whole and byte-compiled: programs and function workers import without compiling."""

from __future__ import annotations

import importlib.util
import marshal
import zipfile
from typing import TYPE_CHECKING

from pipeline_infra_tools.unpacking import unpack_once

if TYPE_CHECKING:
    from pathlib import Path


def make_archive(path: Path, body: str) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("demo_pkg/__init__.py", "")
        archive.writestr("demo_pkg/settings.py", body)
    return path


def compiled_code(source: Path) -> object:
    cached = importlib.util.cache_from_source(str(source))
    with open(cached, "rb") as handle:
        handle.seek(16)  # the header: magic, flags, source mtime and size
        return marshal.loads(handle.read())


def test_the_archive_is_unpacked_with_every_module_compiled_for_where_it_lands(tmp_path: Path) -> None:
    # GIVEN an archive of a package
    archive = make_archive(tmp_path / "code.zip", "LEVEL = 'INFO'\n")
    target = tmp_path / "lib" / "demo-1"
    # WHEN it is unpacked
    assert unpack_once(archive, target) == target
    # THEN its modules are there with their bytecode, which names the module where it now is (for tracebacks)
    source = target / "demo_pkg" / "settings.py"
    assert source.read_text() == "LEVEL = 'INFO'\n"
    assert compiled_code(source).co_filename == str(source)  # type: ignore[attr-defined]
    # AND nothing of the staging directory is left beside it
    assert [p.name for p in target.parent.iterdir()] == ["demo-1"]


def test_an_archive_already_unpacked_is_left_as_it_is(tmp_path: Path) -> None:
    # GIVEN a target already unpacked by another process
    target = tmp_path / "lib" / "demo-1"
    unpack_once(make_archive(tmp_path / "first.zip", "LEVEL = 'INFO'\n"), target)
    # WHEN it is asked for again
    unpack_once(make_archive(tmp_path / "second.zip", "LEVEL = 'DEBUG'\n"), target)
    # THEN the tree already there is kept whole
    assert (target / "demo_pkg" / "settings.py").read_text() == "LEVEL = 'INFO'\n"
    assert [p.name for p in target.parent.iterdir()] == ["demo-1"]
