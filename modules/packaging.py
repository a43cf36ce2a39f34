"""Deterministic Lambda artifacts: one zip per function and one dependencies layer.

Same sources give byte-identical zips (sorted entries, fixed timestamps and modes, no
caches), hence the same content-addressed S3 key and no change in `terraform plan`.
A function's zip holds its own entry module, the non-entry modules of its package and
`handlers/shared`, so editing one handler changes only that function's artifact.

What goes into a function zip is an allow-list (Python sources, minus test modules,
caches and hidden folders), so editor swap files, notes, `.DS_Store` or a stray
`conftest.py` next to a handler never reach Lambda.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from modules.bytecode import FUNCTION_ROOT, LAYER_ROOT, BytecodeCompiler, cache_tag, compiler_for
from modules.catalog import FUNCTIONS, FunctionSpec

ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = ROOT / "build"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry
# Function zips: only these file types. The handlers read no data files (no templates,
# schemas or JSON next to the code); add a suffix here when one genuinely needs one.
SOURCE_SUFFIXES = frozenset({".py"})
# Never shipped, even with an allowed suffix: caches, test folders and test modules.
SOURCE_EXCLUDED_DIRS = frozenset({"__pycache__", "tests", "test"})
TEST_MODULE_PATTERNS = ("test_*.py", "*_test.py", "conftest.py")
# Layer: pip's output is shipped as installed, minus bytecode caches.
LAYER_EXCLUDED_PARTS = frozenset({"__pycache__"})
LAYER_EXCLUDED_SUFFIXES = frozenset({".pyc", ".pyo"})
RUNTIME_CATEGORY = "runtime"
# The Lambda Python runtime ships boto3 and botocore with their dependencies. Bundling a
# second botocore in the layer would shadow the runtime's copy under the runtime's boto3.
PROVIDED_BY_LAMBDA_RUNTIME = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil",
                                        "six", "urllib3"})


@dataclass(frozen=True)
class Artifact:
    """A built zip: where it is, its S3 key and the hashes Terraform needs."""

    path: Path
    key: str
    sha256_hex: str
    sha256_b64: str
    size: int


@dataclass(frozen=True)
class WorkspaceArtifacts:
    """What the app layer uploads: one zip per function (by catalog name) and the layer."""

    functions: dict[str, Artifact]
    layer: Artifact


def package_workspace(architecture: str, runtime: str, functions: tuple[FunctionSpec, ...] = FUNCTIONS,
                      build_dir: Path = BUILD_DIR, source_root: Path = ROOT) -> WorkspaceArtifacts:
    """The packaging step of the synth, before any stack is built: every function zip from
    `source_root`'s handlers and the dependencies layer (pip, the slow part, cached by the
    lock's hash), compiled for `runtime` where an interpreter of it is available."""
    compiler = compiler_for(runtime)
    zips = build_functions(compiler, functions, build_dir, source_root)
    return WorkspaceArtifacts(functions=zips, layer=build_layer(architecture, runtime, build_dir, compiler=compiler))


def build_functions(compiler: BytecodeCompiler | None, functions: tuple[FunctionSpec, ...] = FUNCTIONS,
                    build_dir: Path = BUILD_DIR, source_root: Path = ROOT) -> dict[str, Artifact]:
    """Every function zip (by catalog name), as the synth builds them; `compiler`: see `compiler_for`."""
    return {spec.name: build_function(spec, build_dir, root=source_root, functions=functions, compiler=compiler)
            for spec in functions}


def is_source_file(path: Path, base: Path) -> bool:
    """Whether `path` (below `base`) belongs in a function zip: the allow-list."""
    relative = path.relative_to(base)
    folders = relative.parts[:-1]
    return (path.is_file() and path.suffix in SOURCE_SUFFIXES
            and not any(part.startswith(".") or part in SOURCE_EXCLUDED_DIRS for part in folders)
            and not relative.name.startswith(".")
            and not any(path.match(pattern) for pattern in TEST_MODULE_PATTERNS))


def _layer_file(path: Path) -> bool:
    return (path.is_file() and not (set(path.parts) & LAYER_EXCLUDED_PARTS)
            and path.suffix not in LAYER_EXCLUDED_SUFFIXES)


def deterministic_zip(files: dict[str, bytes]) -> bytes:
    """Zip `arcname -> content` with sorted entries, fixed dates and 0644 modes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.external_attr = 0o100644 << 16
            info.create_system = 3  # unix, so the mode bits are honoured
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buffer.getvalue()


def function_sources(spec: FunctionSpec, root: Path = ROOT,
                     functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> dict[str, bytes]:
    """The files of one function's zip, keyed by their path inside the zip: its package
    without the entry modules of the other functions in that package, and the shared code."""
    handlers = root / "handlers"
    siblings = {Path(root, other.entry_module) for other in functions if other.package == spec.package}
    siblings.discard(Path(root, spec.entry_module))
    files: dict[str, bytes] = {"handlers/__init__.py": (handlers / "__init__.py").read_bytes()}
    for folder in (handlers / "shared", handlers / spec.package):
        for path in sorted(folder.rglob("*")):
            if is_source_file(path, root) and path not in siblings:
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def _write(content: bytes, build_dir: Path, key: str) -> Artifact:
    digest = hashlib.sha256(content)
    path = build_dir / key
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_bytes() != content:
        _write_atomically(path, content)
    return Artifact(path=path, key=key, sha256_hex=digest.hexdigest(),
                    sha256_b64=base64.b64encode(digest.digest()).decode(), size=len(content))


def _write_atomically(path: Path, content: bytes) -> None:
    # Synths run side by side (a test session, `make up` beside `make plan`): a reader never
    # sees half a zip, only the old file or the new one.
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        handle.write(content)
    os.chmod(handle.name, 0o644)  # as a plain write would leave it
    os.replace(handle.name, path)


def build_function(spec: FunctionSpec, build_dir: Path, root: Path = ROOT,
                   functions: tuple[FunctionSpec, ...] = FUNCTIONS,
                   compiler: BytecodeCompiler | None = None) -> Artifact:
    """Build one function's zip into `build_dir/artifacts/<function>/<sha256>.zip`, with
    bytecode next to every module when there is a `compiler` (modules/bytecode.py)."""
    files = function_sources(spec, root, functions)
    if compiler is not None:
        files |= compiler.compile(files, FUNCTION_ROOT)
    content = deterministic_zip(files)
    sha = hashlib.sha256(content).hexdigest()
    return _write(content, build_dir, f"artifacts/{spec.name}/{sha}.zip")


def locked_runtime_requirements(lock_file: Path = ROOT / "Pipfile.lock") -> str:
    """pip requirements (with hashes) for exactly the locked runtime category."""
    locked = json.loads(lock_file.read_text())[RUNTIME_CATEGORY]
    lines = []
    for name in sorted(set(locked) - PROVIDED_BY_LAMBDA_RUNTIME):
        entry = locked[name]
        marker = f"; {entry['markers']}" if entry.get("markers") else ""
        hashes = " ".join(f"--hash={h}" for h in entry["hashes"])
        lines.append(f"{name}{entry['version']}{marker} {hashes}")
    return "\n".join(lines) + "\n"


def _pip_platform(architecture: str) -> str:
    return "manylinux2014_aarch64" if architecture == "arm64" else "manylinux2014_x86_64"


def build_layer(architecture: str, runtime: str, build_dir: Path, lock_file: Path = ROOT / "Pipfile.lock",
                compiler: BytecodeCompiler | None = None) -> Artifact:
    """The dependencies layer for one architecture and Python version, cached by the lock's
    hash and the compiling interpreter: pip installs the locked wheels for the Lambda
    platform into `python/`, then `compiler` (if any) adds their bytecode."""
    requirements = locked_runtime_requirements(lock_file)
    python_version = runtime.removeprefix("python")
    # Sources-only layers keep the key they always had, so nothing is rebuilt for them.
    bytecode = "" if compiler is None else cache_tag(compiler)
    cache_key = hashlib.sha256(f"{requirements}{architecture}{python_version}{bytecode}".encode()).hexdigest()[:16]
    cached = build_dir / "layer-cache" / f"{cache_key}.zip"
    if not cached.exists():
        # The one step of the synth that can take long (pip downloads the locked wheels): say so.
        print(f"packaging: dependencies layer for {runtime} on {architecture}: pip install of the locked "
              f"runtime packages ...", flush=True)
        started = time.monotonic()
        cached.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(cached, _pip_layer_zip(requirements, architecture, python_version, compiler))
        print(f"packaging: dependencies layer built in {time.monotonic() - started:.0f} s "
              f"(cached in {cached.parent})", flush=True)
    content = cached.read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    return _write(content, build_dir, f"layers/{sha}.zip")


def _pip_layer_zip(requirements: str, architecture: str, python_version: str,
                   compiler: BytecodeCompiler | None) -> bytes:
    with tempfile.TemporaryDirectory(prefix="layer-") as tmp:
        req_file = Path(tmp, "requirements.txt")
        req_file.write_text(requirements)
        target = Path(tmp, "python")
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
             "--no-deps", "--require-hashes", "--only-binary=:all:", "--implementation", "cp",
             "--platform", _pip_platform(architecture), "--python-version", python_version,
             "--target", str(target), "-r", str(req_file)],
            check=True,
        )
        files = {f"python/{p.relative_to(target).as_posix()}": p.read_bytes()
                 for p in sorted(target.rglob("*")) if _layer_file(p)}
        if compiler is not None:
            files |= compiler.compile(files, LAYER_ROOT)
        return deterministic_zip(files)
