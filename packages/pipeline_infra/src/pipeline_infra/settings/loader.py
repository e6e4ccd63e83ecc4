"""Read shared_config/ and validate it; every error names the file, the key and what was expected."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from pipeline_infra.exceptions import NamingError, SettingsError
from pipeline_infra.settings.models import ApprovedDifferences, EnvironmentSettings, ProjectSettings, Settings
from pipeline_infra.settings.network_presence import check_network_presence
from pipeline_infra.stack_config import CONFIG_DIR_ENV

CONFIG_DIR_NAME = "shared_config"
BASE_FILE = "base.yaml"
APPROVED_FILE = "approved_differences.yaml"


def find_config_dir(start: Path | None = None) -> Path:
    """The shared_config/ directory: $PIPELINE_CONFIG_DIR, else the nearest one above `start` (default: cwd)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        path = Path(override)
        if not path.is_dir():
            raise SettingsError(f"{CONFIG_DIR_ENV}={override}: expected a directory holding {BASE_FILE}")
        return path
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_DIR_NAME / BASE_FILE).is_file():
            return candidate / CONFIG_DIR_NAME
    raise SettingsError(f"no {CONFIG_DIR_NAME}/{BASE_FILE} found in {here} or any parent; set {CONFIG_DIR_ENV}")


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SettingsError(f"{path}: file is missing; expected a YAML mapping")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise SettingsError(f"{path}: not valid YAML: {err}") from err
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a YAML mapping at the top level, got {type(data).__name__}")
    return data


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`; mappings merge key by key, everything else is replaced."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _has_path(data: Any, path: tuple[Any, ...]) -> bool:
    for part in path:
        in_mapping = isinstance(data, dict) and part in data
        in_list = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if in_mapping or in_list:
            data = data[part]
        else:
            return False
    return True


def _describe(
    err: ValidationError, files: list[tuple[Path, dict[str, Any], tuple[str, ...]]], key_prefix: str = ""
) -> str:
    """One line per problem: the file that set the key (last one that has it), the key, what was expected."""
    lines = []
    for problem in err.errors():
        loc = tuple(problem["loc"])
        origin = files[0][0]
        for path, data, prefix in files:
            if _has_path(data, loc[len(prefix) :]) and loc[: len(prefix)] == prefix:
                origin = path
        key = key_prefix + (".".join(str(part) for part in loc) or "(top level)")
        got = problem.get("input")
        got_text = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{origin}: {key}: {problem['msg']}{got_text}")
    return "\n".join(lines)


def load_settings(config_dir: Path | None = None) -> Settings:
    """Load base.yaml, one file per environment and approved_differences.yaml, merged and validated."""
    directory = config_dir or find_config_dir()
    base_path = directory / BASE_FILE
    base = _read_yaml(base_path)
    unknown = set(base) - {"project", "defaults"}
    if unknown:
        raise SettingsError(f"{base_path}: unknown top-level keys {sorted(unknown)}; expected 'project' and 'defaults'")
    try:
        project = ProjectSettings.model_validate(base.get("project", {}))
    except ValidationError as err:
        raise SettingsError(_describe(err, [(base_path, base.get("project", {}), ())], "project.")) from err

    defaults = base.get("defaults", {})
    if not isinstance(defaults, dict):
        raise SettingsError(f"{base_path}: defaults: expected a mapping")
    environments: dict[str, EnvironmentSettings] = {}
    for env_name in project.environments:
        env_path = directory / f"{env_name}.yaml"
        if not env_path.is_file():
            raise SettingsError(
                f"{env_path}: missing; every environment listed in {base_path} project.environments needs its own file"
            )
        env_data = _read_yaml(env_path)
        merged = deep_merge(defaults, env_data)
        merged.setdefault("name", env_name)
        if merged["name"] != env_name:
            raise SettingsError(f"{env_path}: name: expected {env_name!r} (the file name), got {merged['name']!r}")
        try:
            env = EnvironmentSettings.model_validate(merged)
        except ValidationError as err:
            raise SettingsError(_describe(err, [(base_path, defaults, ()), (env_path, env_data, ())])) from err
        _check_names(project, env, env_path)
        environments[env_name] = env

    _check_targets(project, environments, directory)
    approved_path = directory / APPROVED_FILE
    approved_data = _read_yaml(approved_path) if approved_path.exists() else {}
    try:
        approved = ApprovedDifferences.model_validate(approved_data)
    except ValidationError as err:
        raise SettingsError(_describe(err, [(approved_path, approved_data, ())])) from err
    check_network_presence(environments, approved, directory)
    return Settings(project=project, environments=environments, approved=approved)


def _check_names(project: ProjectSettings, env: EnvironmentSettings, env_path: Path) -> None:
    from pipeline_infra.naming import Names

    try:
        Names(project, env).check_all()
    except NamingError as err:
        raise SettingsError(f"{env_path}: name/suffix/region: {err}") from err


def _check_targets(project: ProjectSettings, environments: dict[str, EnvironmentSettings], directory: Path) -> None:
    source = environments[project.source_environment]
    for target in source.replication.targets:
        if target not in environments or target == project.source_environment:
            raise SettingsError(
                f"{directory / (project.source_environment + '.yaml')}: replication.targets: "
                f"{target!r} must be one of the other environments {sorted(set(environments) - {source.name})}"
            )
