"""Bytecode for the Lambda artifacts, compiled by an interpreter of the functions' runtime.

Lambda's task and layer directories are read-only and ship no `__pycache__`, so without
bytecode every cold start compiles pydantic, Powertools and the handlers from source.
When an interpreter of the runtime's version is available (`LAMBDA_BUILD_PYTHON`, else
`python3.X` on PATH), every module of a zip gets its `__pycache__/<name>.<tag>.pyc`.

Invalidation mode: unchecked-hash (PEP 552). The artifacts are immutable, so there is
nothing to check at import: the interpreter neither stats the source for a timestamp nor
hashes it, and the .pyc holds no build time, so the same sources and interpreter give the
same bytes (the zip stays content-addressed). Compiling happens in one fresh interpreter
process per zip, in sorted order.

Without such an interpreter the zips hold sources only, as before; that is said once per
runtime, naming what to install.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from modules.config_errors import ConfigError

INTERPRETER_VARIABLE = "LAMBDA_BUILD_PYTHON"
# Read by the packaging, not the workspace settings: it changes the artifacts, not the stacks' settings.
BUILD_VARIABLES = {INTERPRETER_VARIABLE: "interpreter of the functions' runtime that compiles the artifacts' "
                                         "bytecode (default: python3.X of the runtime on PATH, else sources only)"}
# Where Lambda puts function code and layer content: the path tracebacks show.
FUNCTION_ROOT = "/var/task"
LAYER_ROOT = "/opt"

# Runs inside the target interpreter: compile every .py below a directory in sorted order.
_COMPILE = """
import json, pathlib, py_compile, sys
base, shown_root = pathlib.Path(sys.argv[1]), sys.argv[2]
for source in sorted(base.rglob("*.py")):
    relative = source.relative_to(base).as_posix()
    py_compile.compile(str(source), dfile=f"{shown_root}/{relative}", doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
print(json.dumps(sys.implementation.cache_tag))
"""


@dataclass(frozen=True)
class BytecodeCompiler:
    """An interpreter of the functions' runtime version that compiles artifact bytecode."""

    interpreter: str
    version: str  # "3.13"
    build: str  # the interpreter's full version: the bytes it writes depend on it

    def compile(self, files: Mapping[str, bytes], shown_root: str) -> dict[str, bytes]:
        """The `.pyc` files for the `.py` entries of `files` (zip name -> content), keyed
        by their zip names (`pkg/__pycache__/mod.cpython-313.pyc`)."""
        with tempfile.TemporaryDirectory(prefix="bytecode-") as tmp:
            base = Path(tmp)
            for name, content in files.items():
                if name.endswith(".py"):
                    (base / name).parent.mkdir(parents=True, exist_ok=True)
                    (base / name).write_bytes(content)
            self.compile_directory(base, shown_root)
            return {path.relative_to(base).as_posix(): path.read_bytes()
                    for path in sorted(base.rglob("*.pyc"))}

    def compile_directory(self, base: Path, shown_root: str) -> None:
        """Compile every `.py` below `base` in place (into `__pycache__/`)."""
        subprocess.run([self.interpreter, "-I", "-c", _COMPILE, str(base), shown_root], check=True,
                       capture_output=True, text=True, timeout=600)


def _versions_of(interpreter: str) -> tuple[str, str] | None:
    """("3.13", full version string) of an interpreter, or None when it does not run."""
    script = "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.version.split()[0])"
    try:
        found = subprocess.run([interpreter, "-I", "-c", script], capture_output=True, text=True, timeout=60,
                               check=False)
    except OSError:
        return None
    lines = found.stdout.split()
    return (lines[0], lines[1]) if found.returncode == 0 and len(lines) == 2 else None


@functools.cache
def bytecode_compiler(runtime: str, configured: str | None = None) -> BytecodeCompiler | None:
    """The compiler for `runtime` (e.g. `python3.13`): `configured` (the value of
    LAMBDA_BUILD_PYTHON) must be such an interpreter; without it, `python3.13` on PATH is
    used when it runs and has that version. None, said once, when there is none."""
    version = runtime.removeprefix("python")
    if configured:
        found = _versions_of(shutil.which(configured) or configured)
        if found is None or found[0] != version:
            what = f"is Python {found[0]}" if found else "does not run"
            raise ConfigError([f"{INTERPRETER_VARIABLE} ({configured!r}) {what}; allowed: an interpreter of "
                               f"the functions' runtime {runtime}, or unset"])
        return BytecodeCompiler(configured, version, found[1])
    candidate = shutil.which(runtime)
    found = _versions_of(candidate) if candidate else None
    if candidate and found and found[0] == version:
        return BytecodeCompiler(candidate, version, found[1])
    print(f"note: no {runtime} interpreter found ({runtime} on PATH or {INTERPRETER_VARIABLE}): the function "
          f"zips and the layer ship sources only, and every cold start compiles them; install {runtime} for "
          "shorter cold starts", file=sys.stderr)
    return None


def compiler_for(runtime: str, environ: Mapping[str, str] = os.environ) -> BytecodeCompiler | None:
    """`bytecode_compiler` for the runtime, as configured in `environ`."""
    return bytecode_compiler(runtime, environ.get(INTERPRETER_VARIABLE) or None)


def cache_tag(compiler: BytecodeCompiler | None) -> str:
    """What a build cache must key on: the compiling interpreter's version, or sources only."""
    return json.dumps(None if compiler is None else compiler.build)
