"""The program runners: a fork server that imports the SDK once, and the process-per-program fallback.

Every program still runs isolated, with its own pinned library: the same program gives the same bytes
whatever ran before it, a failing or hanging program reports itself while the others finish, and two pins
never share a library.
"""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
import time
from typing import TYPE_CHECKING

import pytest

from pipeline_infra.settings import load_settings
from pipeline_infra_tools.artifact import function_artifact_path
from pipeline_infra_tools.exceptions import ProgramError, ProjectError
from pipeline_infra_tools.programs.fork_client import ForkRunner
from pipeline_infra_tools.programs.launcher import ProcessRunner
from pipeline_infra_tools.programs.render import render_stacks
from pipeline_infra_tools.programs.request import ProgramRequest, program_request
from pipeline_infra_tools.programs.runner import RUNNER_ENV, make_runner, run_in_order, runner_kind
from pipeline_infra_tools.workspace import Workspace
from tests.conftest import ROOT, build_library_wheel
from tests.unit.test_library_pinning import CURRENT, NEXT, NEXT_TAG, pin, release_next

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pipeline_infra_tools.engine.harness import StackResult

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the fork server runs on Linux only")
RENDER = {"account_id": "123456789012", "region": "us-east-1"}


@pytest.fixture(scope="module")
def runner() -> Iterator[ForkRunner]:
    forked = ForkRunner(parallel=2)
    yield forked
    forked.close()


def fake_project(root: Path, name: str, program: str) -> Path:
    """A Pulumi project with one stack, dev, whose program is `program`."""
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "Pulumi.yaml").write_text(f"name: {name}\nruntime: python\n")
    (directory / "Pulumi.dev.yaml").write_text("config: {}\n")
    (directory / "__main__.py").write_text(textwrap.dedent(program))
    return directory


def fake_library(root: Path, version: str) -> Path:
    """A directory holding a stand-in `pipeline_infra` package that knows its version."""
    package = root / f"lib-{version}" / "pipeline_infra"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f'VERSION = "{version}"\n')
    return package.parent


def request(
    project_dir: Path, library: Path, timeout: float = 120.0, environment: dict[str, str] | None = None
) -> ProgramRequest:
    return ProgramRequest(
        project_dir=project_dir,
        project=project_dir.name,
        stack="dev",
        backend="render",
        backend_options=RENDER,
        references_dir=project_dir.parent / "references",
        library=library,
        environment=environment or {},
        timeout=timeout,
    )


EXPORT_VERSION = """
    import pulumi

    import pipeline_infra

    pulumi.export("version", pipeline_infra.VERSION)
    pulumi.export("library_file", pipeline_infra.__file__)
"""


def canonical(result: StackResult) -> str:
    return json.dumps(result.to_json(), indent=2, sort_keys=True, default=str)


def test_a_then_b_then_a_gives_a_byte_for_byte(workspace: Workspace, runner: ForkRunner, tmp_path: Path) -> None:
    artifact = function_artifact_path(ROOT)

    def render(layer: str, env: str) -> str:
        job = program_request(workspace, layer, env, "render", RENDER, tmp_path / layer, artifact)
        return canonical(runner.submit(job).result())

    first = render("storage", "dev")
    other = render("notifications", "staging")
    again = render("storage", "dev")
    assert again == first
    assert other != first


def test_fork_server_renders_what_the_process_launcher_renders(workspace: Workspace) -> None:
    # GIVEN every stack of dev, staging and prod
    settings = load_settings(workspace.config_dir)
    wanted = [(layer, env) for env in ("dev", "staging", "prod") for layer in workspace.layers_for(env)]
    documents = {}
    # WHEN each runner renders them
    for kind in ("fork", "process"):
        runner = make_runner(kind, parallel=2)
        try:
            results = render_stacks(workspace, wanted, settings, runner)
        finally:
            runner.close()
        documents[kind] = {stack: canonical(results[stack]) for stack in wanted}
    # THEN both give the same bytes, stack by stack
    for stack in wanted:
        assert documents["fork"][stack] == documents["process"][stack], f"{stack} differs between the runners"


def test_each_pin_gets_its_own_library_after_the_fork(runner: ForkRunner, tmp_path: Path) -> None:
    project = fake_project(tmp_path, "pinned", EXPORT_VERSION)
    one, two = fake_library(tmp_path, "1"), fake_library(tmp_path, "2")
    # WHEN the same program runs with version 1, 2 and 1 again, two of them at once
    first, second = runner.submit(request(project, one)), runner.submit(request(project, two))
    third = runner.submit(request(project, one))
    outputs = [future.result().outputs for future in (first, second, third)]
    # THEN each got its own pin, from its own directory
    assert [o["version"] for o in outputs] == ["1", "2", "1"]
    expected = [str(library / "pipeline_infra" / "__init__.py") for library in (one, two, one)]
    assert [o["library_file"] for o in outputs] == expected


@pytest.fixture(scope="module")
def two_pins(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace whose dist/ holds the current library and the next release, which tags resources differently."""
    root = tmp_path_factory.mktemp("two-pins")
    shutil.copytree(ROOT / "projects", root / "projects")
    shutil.copytree(ROOT / "shared_config", root / "shared_config")
    build_library_wheel(ROOT / "packages" / "pipeline_infra", root / "dist")
    release_next(ROOT / "packages" / "pipeline_infra", root / "library-next", root / "dist")
    return Workspace(root)


def test_two_released_pins_run_side_by_side_without_sharing(
    two_pins: Workspace, runner: ForkRunner, tmp_path: Path
) -> None:
    # GIVEN storage pinned to the next release and notifications to the current one
    pin(two_pins, "storage", NEXT)
    try:
        artifact = function_artifact_path(ROOT)
        # WHEN storage, notifications and storage again run at once in children of the same server
        futures = [
            runner.submit(program_request(two_pins, layer, "dev", "render", RENDER, tmp_path, artifact))
            for layer in ("storage", "notifications", "storage")
        ]
        managed_by = []
        for future in futures:
            [provider] = [r for r in future.result().resources if r.type == "pulumi:providers:aws"]
            managed_by.append(json.loads(provider.inputs["defaultTags"])["tags"]["ManagedBy"])
    finally:
        pin(two_pins, "storage", CURRENT)
    # THEN each ran the components of its own pin
    assert managed_by == [NEXT_TAG, "pulumi", NEXT_TAG]


def test_a_program_that_raises_reports_itself_and_the_others_finish(runner: ForkRunner, tmp_path: Path) -> None:
    library = fake_library(tmp_path, "1")
    good = fake_project(tmp_path, "good", EXPORT_VERSION)
    bad = fake_project(tmp_path, "bad", 'raise RuntimeError("the bucket name is missing")\n')
    futures = [runner.submit(request(project, library)) for project in (bad, good, good)]
    with pytest.raises(ProgramError) as err:
        futures[0].result()
    assert "bad/dev" in str(err.value)
    assert "RuntimeError: the bucket name is missing" in str(err.value)
    assert [future.result().outputs["version"] for future in futures[1:]] == ["1", "1"]


def test_a_program_that_dies_reports_its_exit_and_output(runner: ForkRunner, tmp_path: Path) -> None:
    program = """
        import os
        import signal

        print("about to go", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """
    dying = fake_project(tmp_path, "dying", program)
    with pytest.raises(ProgramError) as err:
        runner.submit(request(dying, fake_library(tmp_path, "1"))).result()
    assert "dying/dev: the program process exited with -9" in str(err.value)
    assert "about to go" in str(err.value)


def test_a_program_that_hangs_is_stopped_after_its_timeout(runner: ForkRunner, tmp_path: Path) -> None:
    library = fake_library(tmp_path, "1")
    hanging = fake_project(tmp_path, "hanging", "import time\n\ntime.sleep(600)\n")
    good = fake_project(tmp_path, "good", EXPORT_VERSION)
    started = time.monotonic()
    stuck, other = runner.submit(request(hanging, library, timeout=2)), runner.submit(request(good, library))
    with pytest.raises(ProgramError) as err:
        stuck.result(timeout=60)
    assert str(err.value).startswith("program hanging/dev did not finish within 2 s")
    assert time.monotonic() - started < 60
    assert other.result(timeout=60).outputs["version"] == "1"


def test_a_library_whose_import_hangs_fails_its_programs_only(runner: ForkRunner, tmp_path: Path) -> None:
    stuck = tmp_path / "lib-stuck" / "pipeline_infra"
    stuck.mkdir(parents=True)
    (stuck / "__init__.py").write_text("import time\n\ntime.sleep(600)\n")
    project = fake_project(tmp_path, "pinned", EXPORT_VERSION)
    waiting, other = (
        runner.submit(request(project, stuck.parent, timeout=1)),
        runner.submit(request(project, fake_library(tmp_path, "1"))),
    )
    with pytest.raises(ProgramError, match=r"importing the library at .*lib-stuck did not finish within the program"):
        waiting.result(timeout=60)
    assert other.result(timeout=60).outputs["version"] == "1"


def test_large_requests_and_results_pass_both_ways(runner: ForkRunner, tmp_path: Path) -> None:
    # Larger than a pipe's buffer both ways, several at once: nobody waits on anybody for ever.
    program = EXPORT_VERSION + '    pulumi.export("echo", __import__("os").environ["BIG"])\n'
    project = fake_project(tmp_path, "large", program)
    library = fake_library(tmp_path, "1")
    big = {"BIG": "x" * 300_000}
    futures = [runner.submit(request(project, library, environment=big)) for _ in range(4)]
    assert all(future.result(timeout=120).outputs["echo"] == big["BIG"] for future in futures)


def test_process_launcher_stops_a_hung_program_the_same_way(tmp_path: Path) -> None:
    hanging = fake_project(tmp_path, "hanging", "import time\n\ntime.sleep(600)\n")
    launcher = ProcessRunner(parallel=1)
    try:
        with pytest.raises(ProgramError, match=r"^program hanging/dev did not finish within 1\.5 s"):
            launcher.submit(request(hanging, fake_library(tmp_path, "1"), timeout=1.5)).result(timeout=60)
    finally:
        launcher.close()


def test_a_failure_stops_only_the_stacks_that_read_it(runner: ForkRunner, tmp_path: Path) -> None:
    library = fake_library(tmp_path, "1")
    projects = {
        "base": fake_project(tmp_path, "base", 'raise ValueError("no settings")\n'),
        "reader": fake_project(tmp_path, "reader", EXPORT_VERSION),
        "independent": fake_project(tmp_path, "independent", EXPORT_VERSION),
    }
    finished: list[str] = []
    with pytest.raises(ProgramError) as err:
        run_in_order(
            runner,
            [("base", "dev"), ("reader", "dev"), ("independent", "dev")],
            lambda stack: [("base", "dev")] if stack[0] == "reader" else [],
            lambda stack: request(projects[stack[0]], library),
            lambda stack, _: finished.append(stack[0]),
        )
    assert finished == ["independent"]
    lines = str(err.value).splitlines()
    assert lines[0] == "base/dev: base/dev: the program failed: ValueError: no settings"
    assert lines[-1] == "reader/dev: not run, it reads base/dev, which failed"


def test_runner_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(RUNNER_ENV, raising=False)
    assert runner_kind() == "fork"
    monkeypatch.setenv(RUNNER_ENV, "process")
    assert runner_kind() == "process"
    monkeypatch.setenv(RUNNER_ENV, "threads")
    with pytest.raises(ProjectError, match="expected one of"):
        runner_kind()
    # Where forking a process that imported the SDK is not safe, the process launcher is the default.
    monkeypatch.delenv(RUNNER_ENV)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert runner_kind() == "process"
