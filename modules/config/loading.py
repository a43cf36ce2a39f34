"""Loading: a workspace's settings from its layers, each value remembering where it came from.

Layers, later ones win: the workspace's typed defaults (`local`: dev's), its file
(`config/<workspace>.toml`; `local`: config/dev.toml), for `local` the LOCAL_DIFFERENCES,
settings passed in code (`overrides`, tests only), then the environment variables. The
merged tree is validated strictly, as JSON (a file's "1024" is not an integer), then the
cross-layer rules run. Every problem of every selected workspace is reported at once, each
naming the file or variable that set the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from modules.config import files, problems, rules
from modules.config.defaults import DEFAULTS, LOCAL_DIFFERENCES
from modules.config.schema import WORKSPACES, WorkspaceSettings
from modules.config_errors import ConfigError
from modules.product_defaults import DEFAULT_EMULATOR_ENDPOINT, DEFAULT_PROJECT, DEFAULT_REGION

DEFAULT = "default"
# Sources whose problems are reported under the workspace's name (the product's own values).
IN_CODE = (DEFAULT, "LOCAL_DIFFERENCES", "overrides")
Path_ = tuple[str, ...]


@dataclass(frozen=True)
class Layer:
    """A partial settings tree and where it comes from (`default`, a file, a variable...)."""

    source: str
    values: Mapping[str, Any]
    # Keys of this layer set by one environment variable each (others: `source`).
    variables: Mapping[Path_, str] | None = None


@dataclass(frozen=True)
class Resolved:
    """A workspace's validated settings and the source of every value set by a layer."""

    settings: WorkspaceSettings
    sources: Mapping[Path_, str]

    def source_of(self, path: Path_) -> str:
        return source_of(self.sources, path)


def leaves(tree: Mapping[str, Any], prefix: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) of a nested settings tree; an empty table is a value of its own."""
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            yield from leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def source_of(sources: Mapping[Path_, str], path: Path_) -> str:
    """Who set the value at `path`: the layer that set it or a table above it; for a table
    (an error of a whole model), the last layer that set anything inside it."""
    for end in range(len(path), 0, -1):
        if path[:end] in sources and sources[path[:end]] != DEFAULT:
            return sources[path[:end]]
    inside = [source for key, source in sources.items() if key[: len(path)] == path and source != DEFAULT]
    return inside[-1] if inside else DEFAULT


def _split(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def environment_layer(workspace: str, environ: Mapping[str, str]) -> Layer:
    """The per-user values (always present, their defaults included) and the variables set."""
    project = environ.get("PROJECT_NAME") or DEFAULT_PROJECT
    region = environ.get("DEPLOY_REGION") or DEFAULT_REGION
    values: dict[str, Any] = {
        "workspace": workspace, "project": project, "region": region,
        # The state bucket's default is derived from the project and the region.
        "state_bucket": environ.get("STATE_BUCKET") or f"{project}-tfstate-{region}",
        "emulator_endpoint": (environ.get("EMULATOR_ENDPOINT") or DEFAULT_EMULATOR_ENDPOINT)
        if workspace == "local" else None,
        "github_repository": environ.get("GITHUB_REPOSITORY") or None,
    }
    per_user = (("project", "PROJECT_NAME"), ("region", "DEPLOY_REGION"), ("state_bucket", "STATE_BUCKET"),
                ("emulator_endpoint", "EMULATOR_ENDPOINT"), ("github_repository", "GITHUB_REPOSITORY"))
    variables: dict[Path_, str] = {(field,): name for field, name in per_user
                                   if environ.get(name) and (field != "emulator_endpoint" or workspace == "local")}
    if environ.get("ALERT_EMAILS"):
        values["alert_emails"] = _split(environ["ALERT_EMAILS"])
        variables[("alert_emails",)] = "ALERT_EMAILS"
    if environ.get("VPC_CIDR"):
        values["network"] = {"vpc_cidr": environ["VPC_CIDR"]}
        variables[("network", "vpc_cidr")] = "VPC_CIDR"
    api: dict[str, Any] = {}
    domain, certificate = environ.get("API_DOMAIN_NAME"), environ.get("API_CERTIFICATE_ARN")
    if domain or certificate:
        # Set as a pair, so one without the other is reported (and not completed by a file).
        api.update({"domain_name": domain or None, "certificate_arn": certificate or None})
        variables[("api", "domain_name")] = variables[("api", "certificate_arn")] = \
            "API_DOMAIN_NAME/API_CERTIFICATE_ARN"
    if environ.get("API_KIND"):
        api["kind"] = environ["API_KIND"]
        variables[("api", "kind")] = "API_KIND"
    if api:
        values["api"] = api
    return Layer(DEFAULT, values, variables)


def layers(workspace: str, environ: Mapping[str, str], overrides: Mapping[str, Any] | None,
           config_dir: Path) -> tuple[list[Layer], list[str]]:
    """The layers of `workspace`, in order, and the problems found reading its file."""
    found = [Layer(DEFAULT, DEFAULTS[files.file_for(workspace)].model_dump(mode="json"))]
    config_file = files.read(config_dir, workspace)
    if config_file is not None:
        found.append(Layer(config_file.label, config_file.values))
    if workspace == "local":
        found.append(Layer("LOCAL_DIFFERENCES", {key: value for key, (value, _why) in LOCAL_DIFFERENCES.items()}))
    if overrides:
        found.append(Layer("overrides", json.loads(json.dumps(overrides))))
    found.append(environment_layer(workspace, environ))
    return found, config_file.problems if config_file else []


def merge(found: list[Layer]) -> tuple[dict[str, Any], dict[Path_, str]]:
    """The merged settings tree and the source of each value a layer set, in the order the
    values were last set (a later layer's keys come after an earlier layer's)."""
    tree: dict[str, Any] = {}
    sources: dict[Path_, str] = {}
    for layer in found:
        tree = deep_merge(tree, layer.values)
        for path, _value in leaves(layer.values):
            sources.pop(path, None)
            sources[path] = (layer.variables or {}).get(path, layer.source)
    return tree, sources


def _where(workspace: str, source: str, key: str) -> str:
    """The start of a problem line: the file, the variable or the workspace, and the key."""
    if source in IN_CODE:
        return f"{workspace}: {key}"
    if source.endswith(".toml"):
        return f"{source}: {key}"
    return f"{source} ({key})"  # an environment variable


def _model_problems(err: ValidationError, workspace: str, sources: Mapping[Path_, str]) -> list[str]:
    """One line per pydantic error. A value nobody set but derived from others (the state
    bucket) is only reported when nothing else is wrong: its error would blame a variable
    nobody set."""
    found = [(item, ".".join(str(part) for part in item["loc"]) or "settings") for item in err.errors()]
    derived = {"state_bucket"} if sources.get(("state_bucket",)) == DEFAULT else set()
    if any(key not in derived for _item, key in found):
        found = [(item, key) for item, key in found if key not in derived]
    lines = []
    for item, key in found:
        loc = tuple(str(part) for part in item["loc"])
        # A missing key is the fault of whoever set the table it is missing from.
        source = source_of(sources, loc[:-1] if item["type"] == "missing" else loc)
        if key in derived:
            source = "STATE_BUCKET"
        value = problems.shown(item.get("input")) if key != "settings" else ""
        lines.append(f"{_where(workspace, source, key)}{value}: {problems.message(WorkspaceSettings, item)}")
    return lines


def resolve(workspace: str, environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None,
            config_dir: Path | None = None) -> Resolved:
    """Build and validate one workspace's settings; raise one ConfigError listing every problem."""
    if workspace not in WORKSPACES:
        raise ConfigError([f"workspace {workspace!r} is not a workspace; allowed: {', '.join(WORKSPACES)}"])
    found, file_problems = layers(workspace, environ, overrides, config_dir or files.CONFIG_DIR)
    tree, sources = merge(found)
    try:
        settings = WorkspaceSettings.model_validate_json(json.dumps(tree), strict=True)
    except ValidationError as err:
        raise ConfigError([*file_problems, *_model_problems(err, workspace, sources)]) from None
    broken = [f"{_where(workspace, _blame(sources, v.keys), v.key)}{problems.shown(v.value)}: {v.message}"
              for v in rules.violations(settings)]
    if file_problems or broken:
        raise ConfigError([*file_problems, *broken])
    return Resolved(settings, sources)


def _blame(sources: Mapping[Path_, str], keys: tuple[str, ...]) -> str:
    """The first source other than the defaults among the keys a rule reads."""
    blamed = [source_of(sources, tuple(key.split("."))) for key in keys]
    return next((source for source in blamed if source != DEFAULT), DEFAULT)


def settings_for(workspace: str, environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None,
                 config_dir: Path | None = None) -> WorkspaceSettings:
    """One workspace's validated settings: defaults, its file, `overrides` (a partial
    settings tree, for tests), then the environment."""
    return resolve(workspace, environ, overrides, config_dir).settings


def selected_workspaces(environ: Mapping[str, str]) -> tuple[str, ...]:
    selected = _split(environ.get("WORKSPACES")) or WORKSPACES
    unknown = [w for w in selected if w not in WORKSPACES]
    if unknown:
        raise ConfigError([f"WORKSPACES: {', '.join(map(repr, unknown))} is not a workspace; "
                           f"allowed: {', '.join(WORKSPACES)}"])
    return tuple(dict.fromkeys(selected))


def load_settings(environ: Mapping[str, str], config_dir: Path | None = None) -> list[WorkspaceSettings]:
    """Validate the selected workspaces (WORKSPACES) and the files; raise one ConfigError
    listing every problem of every workspace and file."""
    config_dir = config_dir or files.CONFIG_DIR
    found = files.stray_files(config_dir)
    result: list[WorkspaceSettings] = []
    for workspace in selected_workspaces(environ):
        try:
            result.append(settings_for(workspace, environ, config_dir=config_dir))
        except ConfigError as err:
            found.extend(err.problems)
    if found:
        raise ConfigError(list(dict.fromkeys(found)))
    return result
