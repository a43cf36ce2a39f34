"""Skip `python main.py` when nothing that determines its output changed since the last synth.

The inputs, hashed together into one digest recorded next to the output
(`<outdir>/synth-inputs.sha256`):

* the sources: every file under `modules/` and `handlers/`, and `main.py`, `cdktf.json`;
* the configuration files: every file under `config/` (config/<workspace>.toml, the schema);
* the lock files: `Pipfile.lock` (Python packages, the Lambda layer), `package-lock.json` (cdktf CLI);
* the configuration variables: every variable of `modules.config.ENVIRONMENT_VARIABLES` and `CDKTF_OUTDIR`, plus
  what decides the artifacts' bytecode (`LAMBDA_BUILD_PYTHON`, `PATH`; see `modules/bytecode.py`);
* the tools: the Python version, every installed Python distribution and its version, the Node version.

Import-light on purpose (no cdktf, no provider bindings): the check must cost well under a second.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIGEST_FILE = "synth-inputs.sha256"
SOURCE_DIRS = ("modules", "handlers", "config")
SOURCE_FILES = ("main.py", "cdktf.json")
LOCK_FILES = ("Pipfile.lock", "package-lock.json")
SKIPPED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache"}


def output_dir(environ: Mapping[str, str]) -> Path:
    """Where `main.py` synthesizes to: `CDKTF_OUTDIR`, else `cdktf.out` (as cdktf resolves it)."""
    return Path(environ.get("CDKTF_OUTDIR") or "cdktf.out")


def source_files(root: Path) -> list[Path]:
    files = [root / name for name in (*SOURCE_FILES, *LOCK_FILES)]
    for directory in SOURCE_DIRS:
        files.extend(path for path in (root / directory).rglob("*")
                     if path.is_file() and not SKIPPED_PARTS & set(path.parts) and path.suffix != ".pyc")
    return sorted(files)


def tool_versions() -> list[str]:
    distributions = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10,
                              check=False).stdout.strip()
    except OSError:
        node = "none"
    return [f"python {sys.version}", f"node {node}", *distributions]


def inputs_digest(environ: Mapping[str, str], variables: Iterable[str], root: Path | None = None,
                  tools: list[str] | None = None, keep: Callable[[str], bool] | None = None) -> str:
    """The digest of every input named in the module docstring (`root`: the checkout); `keep`
    selects files by their path relative to `root` (all by default)."""
    root = root or ROOT
    digest = hashlib.sha256()

    def add(label: str, value: bytes) -> None:
        digest.update(f"{label}\0{len(value)}\0".encode())
        digest.update(value)

    for path in source_files(root):
        relative = path.relative_to(root).as_posix()
        if keep is None or keep(relative):
            add(f"file:{relative}", path.read_bytes() if path.is_file() else b"<missing>")
    for name in sorted({*variables, "CDKTF_OUTDIR"}):
        add(f"env:{name}", environ[name].encode() if name in environ else b"<unset>")
    for line in tools if tools is not None else tool_versions():
        add("tool", line.encode())
    return digest.hexdigest()


def is_fresh(outdir: Path, digest: str) -> bool:
    """Whether `outdir` holds a complete synth made from exactly these inputs."""
    recorded = outdir / DIGEST_FILE
    return ((outdir / "manifest.json").is_file() and recorded.is_file()
            and recorded.read_text().strip() == digest)


def record(outdir: Path, digest: str) -> None:
    """Remember the inputs of the synth just written to `outdir`."""
    (outdir / DIGEST_FILE).write_text(digest + "\n")


def forget(outdir: Path) -> None:
    """Drop the record before synthesizing, so an interrupted synth is never taken as fresh."""
    (outdir / DIGEST_FILE).unlink(missing_ok=True)

