"""Every task of the project: `nox -l` lists them. Costly sessions are not run by default."""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
# The oldest Python the packages support (pyproject.toml's classifiers); a fresh machine needs only that one.
PYTHON = nox.project.python_versions(PYPROJECT)[0]
ENVIRONMENTS = ("dev", "staging", "prod")
STACK_OPERATIONS = ("deploy", "preview", "destroy")
LIBRARY = ROOT / "packages" / "pipeline_infra"
TOOLS = ROOT / "packages" / "pipeline_infra_tools"
FUNCTIONS = ROOT / "packages" / "pipeline_functions"
PACKAGES = (LIBRARY, TOOLS, FUNCTIONS)
COMPILED = {"UV_COMPILE_BYTECODE": "1"}
LINTED = ("packages", "projects", "tests", "noxfile.py")

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "typecheck", "tests"]


def _group(name: str) -> list[str]:
    """A dependency group of pyproject.toml, so requirements are written once."""
    return list(PYPROJECT["dependency-groups"][name])


def _install_workspace(session: nox.Session, *groups: str) -> None:
    """The library, the Lambda package and the tool, editable, plus the named dependency groups, byte-compiled.

    uv does not compile what it installs, and with PYTHONDONTWRITEBYTECODE set the interpreter never caches what it
    compiles: every process the tool starts (a program, the emulator, a function worker) would compile Pulumi,
    botocore and moto again, which doubles what a deploy or a drift check costs."""
    session.install(
        "-e",
        str(LIBRARY),
        "-e",
        str(FUNCTIONS),
        "-e",
        f"{TOOLS}[sandbox]",
        *(r for g in groups for r in _group(g)),
        env=COMPILED,
    )
    session.run("python", "-m", "compileall", "-q", "-j", "0", *(str(p / "src") for p in PACKAGES), silent=True)


def _build_library(session: nox.Session) -> None:
    """The one place the library wheel is built: dist/, where projects find the version they pin."""
    session.install(*_group("build"), env=COMPILED)
    with session.chdir(LIBRARY):
        session.run("hatchling", "build", "-t", "wheel", "-d", str(ROOT / "dist"), silent=True)


def _tool_session(session: nox.Session, *args: str) -> None:
    """Install the workspace, build the pinned library, then run `pipeline-infra ARGS POSARGS`."""
    _install_workspace(session)
    _build_library(session)
    session.run("pipeline-infra", *args, *session.posargs)


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build the pipeline-infra library wheel into dist/ (projects use the version they pin)."""
    _build_library(session)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style with ruff and the layer contracts with import-linter."""
    _install_workspace(session, "lint")
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)
    session.run("lint-imports")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Type-check the three packages with mypy."""
    _install_workspace(session, "typecheck")
    session.run("mypy")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the whole test suite: unit, functional and integration (starts and stops its own sandbox).

    Unit and functional tests share nothing, so they run on every core (pytest-xdist); the integration tests
    that share one sandbox run in order on one worker, while those with a sandbox of their own run beside
    them on another. Arguments (`nox -s tests -- tests/unit -k drift`) run pytest as given."""
    _install_workspace(session, "test")
    _build_library(session)
    if session.posargs:
        session.run("pytest", *session.posargs)
        return
    session.run("pytest", "-n", "auto", "tests/unit", "tests/functional")
    session.run("pytest", "-n", "2", "--dist", "loadgroup", "tests/integration")


@nox.session(python=PYTHON, default=False)
def render(session: nox.Session) -> None:
    """Render an environment offline: nox -s render -- --env prod --format table."""
    if not session.posargs:
        session.error("Usage: nox -s render -- --env ENV [--layer LAYER] [--format json|table]")
    _tool_session(session, "render")


@nox.session(python=PYTHON, default=False)
@nox.parametrize(
    ("operation", "env"),
    [
        nox.param(operation, env, id=f"{operation}-{env}")
        for operation in STACK_OPERATIONS
        for env in (*ENVIRONMENTS, "all")
    ],
)
def stack(session: nox.Session, operation: str, env: str) -> None:
    """Deploy, preview or destroy one environment or all (local sandbox unless --target aws): nox -s deploy-prod."""
    envs = ENVIRONMENTS if env == "all" else (env,)
    _install_workspace(session)
    _build_library(session)
    # Destroy runs lower layers last and the source environment first: nothing is destroyed while read.
    for each in reversed(envs) if operation == "destroy" else envs:
        session.run("pipeline-infra", operation, "--env", each, *session.posargs)


def _stack_alias(session: nox.Session) -> None:
    """Alias: runs stack(<its own name>), e.g. deploy-prod; one layer: nox -s deploy-prod -- --layer storage."""


# `nox -s deploy-prod` (and every operation-env pair) runs the parametrized `stack` session of the same id.
for _operation in STACK_OPERATIONS:
    for _env in (*ENVIRONMENTS, "all"):
        nox.session(name=f"{_operation}-{_env}", python=False, default=False, requires=[f"stack({_operation}-{_env})"])(
            _stack_alias
        )


@nox.session(python=PYTHON, default=False)
def sandbox(session: nox.Session) -> None:
    """The main job on the local emulator: start the sandbox, deploy all environments, show a replication round trip."""
    _tool_session(session, "sandbox", "demo")


@nox.session(python=PYTHON, default=False)
def drift(session: nox.Session) -> None:
    """Report differences between environments (exit 1 on drift): nox -s drift -- --live --format markdown."""
    _tool_session(session, "drift")


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Print speed and memory figures (render, deploy, replication latency, artifact); never asserts timings."""
    _install_workspace(session, "test")
    _build_library(session)
    for script in sorted((ROOT / "tests" / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)


@nox.session(python=PYTHON, default=False)
def soak(session: nox.Session) -> None:
    """Faults at the emulator while 500 prod changes flow, then redrive and resync; prints figures: -- --changes N."""
    _install_workspace(session, "test")
    _build_library(session)
    session.run("python", str(ROOT / "tests" / "soak" / "run_soak.py"), *session.posargs)


@nox.session(python=PYTHON, default=False)
def policy(session: nox.Session) -> None:
    """Run the guardrails offline (exit 1 on a violation): nox -s policy -- --env prod [--format json]."""
    _tool_session(session, "policy", "check")
