"""The configuration files: `config/<workspace>.toml`, one per deployed workspace, holding
only what differs from the workspace's defaults, in the structure of the settings models.

Read with the standard library's `tomllib`. What a file may not hold is refused here,
before any model sees it: a file of no workspace, a key the environment owns, a secret.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, SecretBytes, SecretStr

from modules.config.problems import model_at
from modules.config.schema import WorkspaceConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "config"
# `local` has no file: it is the developer's rehearsal of dev, so it takes config/dev.toml
# with LOCAL_DIFFERENCES laid over it.
FILE_WORKSPACES = ("dev", "staging", "prod")
# Settings a file cannot set, and why.
NOT_IN_FILES = {
    "workspace": "the file's name is the workspace",
    "project": "a per-user value: set PROJECT_NAME",
    "region": "a per-user value: set DEPLOY_REGION",
    "state_bucket": "a per-user value: set STATE_BUCKET",
    "emulator_endpoint": "a per-user value of local mode: set EMULATOR_ENDPOINT",
    "github_repository": "set by the environment that deploys the ci stack: set GITHUB_REPOSITORY",
}
# Key names that hold a credential. The product needs none in its configuration: API keys
# are created by Terraform per client (`api.clients`), and anything else secret belongs in
# AWS Secrets Manager, read by the function at run time.
SECRET_NAME = re.compile(r"(secret|password|passwd|token|api_?key|private_?key|credential)", re.IGNORECASE)
SECRET_HOME = ("secrets never go in configuration files, which are committed and shown in plan reviews; "
               "allowed: add the client's name to api.clients (Terraform creates its API key; read it with "
               "`terraform output`), or keep the secret in AWS Secrets Manager and give the function its name")


@dataclass
class ConfigFile:
    """One file's settings (a partial settings tree) and the problems found reading it."""

    path: Path
    label: str
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def label(path: Path) -> str:
    """How problems and `make config` name a file: relative to the checkout when inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def file_for(workspace: str) -> str:
    """The workspace whose file configures `workspace` (local: dev's)."""
    return "dev" if workspace == "local" else workspace


def stray_files(config_dir: Path) -> list[str]:
    """Problems with TOML files of no workspace (a typo in a name would silently do nothing)."""
    allowed = ", ".join(f"{name}.toml" for name in FILE_WORKSPACES)
    problems = []
    for path in sorted(config_dir.glob("*.toml")):
        if path.stem not in FILE_WORKSPACES:
            why = ("local takes config/dev.toml with LOCAL_DIFFERENCES applied" if path.stem == "local"
                   else "not a workspace")
            problems.append(f"{label(path)}: {why}; allowed: {allowed}")
    return problems


def read(config_dir: Path, workspace: str) -> ConfigFile | None:
    """The file of `workspace` (None when it has none), its refused keys removed."""
    path = config_dir / f"{file_for(workspace)}.toml"
    if not path.is_file():
        return None
    found = ConfigFile(path, label(path))
    try:
        found.values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        found.problems.append(f"{found.label}: not valid TOML: {err}; allowed: TOML 1.0 (https://toml.io)")
        return found
    for key in [key for key in found.values if key in NOT_IN_FILES]:
        found.problems.append(f"{found.label}: {key}{_shown(found.values.pop(key))}: not a file setting, "
                              f"{NOT_IN_FILES[key]}")
    found.problems.extend(drop_secrets(found.values, found.label))
    return found


def _shown(value: object) -> str:
    return "" if isinstance(value, dict | list) else f" (value {value!r})"


def is_secret(path: tuple[str, ...], root: type[BaseModel] = WorkspaceConfig) -> bool:
    """A key whose name says it is a credential, or whose model field is typed as a secret."""
    if SECRET_NAME.search(path[-1]):
        return True
    model = model_at(root, path[:-1])
    field_info = model.model_fields.get(path[-1]) if model else None
    annotation = field_info.annotation if field_info else None
    return any(kind in (SecretStr, SecretBytes) for kind in (annotation, *get_args(annotation)))


def drop_secrets(table: dict[str, Any], where: str, root: type[BaseModel] = WorkspaceConfig,
                 prefix: tuple[str, ...] = ()) -> list[str]:
    """Remove every secret key from `table` (nested), one problem each; its value is never shown."""
    problems = []
    for key in list(table):
        path = (*prefix, key)
        if is_secret(path, root):
            del table[key]
            problems.append(f"{where}: {'.'.join(path)}: {SECRET_HOME}")
        elif isinstance(table[key], dict):
            problems.extend(drop_secrets(table[key], where, root, path))
    return problems
