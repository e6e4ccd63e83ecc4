"""Every task of the project: `nox -l` lists them. Costly sessions are not run by default."""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
ENVIRONMENTS = ("dev", "staging", "prod")
LIBRARY = ROOT / "packages" / "pipeline_infra"
TOOLS = ROOT / "packages" / "pipeline_infra_tools"
FUNCTIONS = ROOT / "packages" / "pipeline_functions"

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "typecheck", "tests"]


def _group(name: str) -> list[str]:
    """A dependency group of pyproject.toml, so requirements are written once."""
    return list(PYPROJECT["dependency-groups"][name])


def _install_project(session: nox.Session, *groups: str) -> None:
    session.install(
        "-e", str(LIBRARY), "-e", str(FUNCTIONS), "-e", f"{TOOLS}[sandbox]", *(r for g in groups for r in _group(g))
    )


def _build_library(session: nox.Session) -> None:
    """Build the pipeline-infra wheel into dist/, where projects find the version they pin."""
    session.install(*_group("build"))
    with session.chdir(LIBRARY):
        session.run("hatchling", "build", "-t", "wheel", "-d", str(ROOT / "dist"))


def _cli(session: nox.Session, *args: str) -> None:
    session.run("pipeline-infra", *args, *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build the pipeline-infra library wheel into dist/ (projects use the version they pin)."""
    _build_library(session)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and imports with ruff."""
    session.install(*_group("lint"))
    session.run("ruff", "check", "packages", "projects", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "packages", "projects", "tests", "noxfile.py")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check both packages with mypy."""
    _install_project(session, "typecheck")
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite: unit, functional and integration (starts and stops its own sandbox)."""
    _install_project(session, "test")
    _build_library(session)
    session.run("pytest", *session.posargs)


@nox.session(default=False)
def render(session: nox.Session) -> None:
    """Render an environment offline: nox -s render -- --env prod --format table."""
    if not session.posargs:
        session.error("Usage: nox -s render -- --env ENV [--layer LAYER] [--format json|table]")
    _install_project(session)
    _build_library(session)
    session.run("pipeline-infra", "render", *session.posargs)


def _stack_session(operation: str, env: str | None) -> None:
    envs = ENVIRONMENTS if env is None else (env,)
    name = f"{operation}-{env or 'all'}"

    @nox.session(name=name, default=False)
    def _session(session: nox.Session) -> None:
        _install_project(session)
        _build_library(session)
        for each in envs if operation != "destroy" else reversed(envs):
            _cli(session, operation, "--env", each)

    _session.__doc__ = (
        f"{operation.capitalize()} {'every environment' if env is None else env} "
        f"(local sandbox unless --target aws); one layer: nox -s {name} -- --layer storage."
    )


for _env in ENVIRONMENTS:
    for _operation in ("deploy", "preview", "destroy"):
        _stack_session(_operation, _env)
_stack_session("deploy", None)


@nox.session(default=False)
def sandbox(session: nox.Session) -> None:
    """The main job on the local emulator: start the sandbox, deploy all environments, show a replication round trip."""
    _install_project(session)
    _build_library(session)
    session.run("pipeline-infra", "sandbox", "demo", *session.posargs)


@nox.session(default=False)
def drift(session: nox.Session) -> None:
    """Report differences between environments (exit 1 on drift): nox -s drift -- --live --format markdown."""
    _install_project(session)
    _build_library(session)
    _cli(session, "drift")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Print speed and memory figures (render, deploy, replication latency, artifact); never asserts timings."""
    _install_project(session, "test")
    _build_library(session)
    for script in sorted((ROOT / "tests" / "benchmarks").glob("bench_*.py")):
        session.run("python", str(script), *session.posargs)
