"""A change to function code only, put into the last synth without loading cdktf.

`python main.py` spends most of its time loading the provider bindings, although a handler
edit changes nothing in the synth but function zips. So a full synth records, next to its
output (`synth-structure.json`):

* the handler files the synth imported (route metadata, constants and models the stacks
  read): these are part of the stacks, like `modules/`;
* the digest of every synth input (`delivery.synth_cache`) except the other handler files,
  which reach the output only inside function zips.

When that digest is unchanged, `resynth` rebuilds the function zips with the synth's own
packaging (`modules.packaging`) and, for each zip whose SHA-256 changed, replaces the old
hash with the new one in the stacks (`source_hash`, the content-addressed key and the asset's
folder are the hex digest; `source_code_hash` the base64 one) and the asset file. Anything
else (no record, another structure, a hash the output does not hold) is left to a full synth.
tests/localmode/test_code_resynth.py shows the result equal to a full synth byte for byte.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from delivery import synth_cache
from delivery.stacks import load_stacks

RECORD_FILE = "synth-structure.json"
HANDLERS = "handlers"
# How the app layer names a function zip in the code bucket (modules/packaging.py).
ARTIFACT_KEY = re.compile(r'"artifacts/([a-z0-9-]+)/([0-9a-f]{64})\.zip"')


def imported_handler_files(root: Path) -> list[str]:
    """The files under `root/handlers` this process has imported, relative to `root`."""
    handlers = (root / HANDLERS).resolve()
    files = [getattr(module, "__file__", None) for module in list(sys.modules.values())]
    found = {Path(file).resolve() for file in files if file}
    return sorted(path.relative_to(root.resolve()).as_posix() for path in found if path.is_relative_to(handlers))


def structure_digest(environ: Mapping[str, str], variables: Iterable[str], root: Path, tools: list[str],
                     imported: Iterable[str]) -> str:
    """The synth inputs' digest without the handler files outside `imported`."""
    kept = set(imported)
    return synth_cache.inputs_digest(
        environ, variables, root, tools,
        keep=lambda relative: not relative.startswith(f"{HANDLERS}/") or relative in kept)


def record(outdir: Path, environ: Mapping[str, str], variables: Iterable[str], root: Path, tools: list[str],
           imported: list[str], synthesized_from: str) -> None:
    """After a full synth into `outdir`: `imported`, the handler files it imported
    (`imported_handler_files`); `synthesized_from`, the inputs' digest when it started
    (nothing is recorded when a file changed since)."""
    digest = structure_digest(environ, variables, root, tools, imported)
    if synth_cache.inputs_digest(environ, variables, root, tools) == synthesized_from:
        (outdir / RECORD_FILE).write_text(json.dumps({"structure": digest, "imported_handlers": imported}, indent=1))


def forget(outdir: Path) -> None:
    (outdir / RECORD_FILE).unlink(missing_ok=True)


def resynth(outdir: Path, environ: Mapping[str, str], variables: Iterable[str], root: Path,
            tools: list[str]) -> list[str] | None:
    """Put the current function zips into the synth in `outdir` when nothing but function
    code changed since its full synth; the functions whose zip changed, or None when a full
    synth is needed (nothing was changed then)."""
    try:
        recorded = json.loads((outdir / RECORD_FILE).read_text())
        stacks = {stack.directory / "cdk.tf.json": stack.workspace
                  for stack in load_stacks(outdir, with_bootstrap=True)}
    except (OSError, ValueError):  # StackGraphError is a ValueError: no complete synth output
        return None
    if not stacks or recorded.get("structure") != structure_digest(
            environ, variables, root, tools, recorded.get("imported_handlers", [])):
        return None
    new = _current_artifacts(environ, root)
    texts = {path: path.read_text() for path in stacks}
    # Per stack, as each workspace builds its zips for its own runtime: old hex -> (new hex, function).
    swaps: dict[Path, dict[str, tuple[str, str]]] = {}
    for path, text in texts.items():
        for function, old in ARTIFACT_KEY.findall(text):
            built = new.get(stacks[path] or "", {}).get(function)
            if built is None:  # a workspace or function the settings no longer have
                return None
            if built != old:
                swaps.setdefault(path, {})[old] = (built, function)
    # From here on the output is being changed: interrupted, it is never taken as fresh, nor
    # as the base of another resynth.
    synth_cache.forget(outdir)
    forget(outdir)
    for path, stack_swaps in swaps.items():
        changed = texts[path]
        for old, (built, _function) in stack_swaps.items():
            changed = changed.replace(old, built).replace(_b64(old), _b64(built))
        _move_assets(path.parent, stack_swaps)
        path.write_text(changed)
    (outdir / RECORD_FILE).write_text(json.dumps(recorded, indent=1))
    return sorted({function for stack_swaps in swaps.values() for _built, function in stack_swaps.values()})


def _current_artifacts(environ: Mapping[str, str], root: Path) -> dict[str, dict[str, str]]:
    """Workspace -> function -> SHA-256 (hex) of the zip the synth would build now."""
    from modules.bytecode import compiler_for
    from modules.config import load_settings
    from modules.packaging import build_functions

    by_runtime: dict[str, dict[str, str]] = {}
    found: dict[str, dict[str, str]] = {}
    for settings in load_settings(environ):
        runtime = settings.app.lambda_runtime
        if runtime not in by_runtime:
            built = build_functions(compiler_for(runtime), source_root=root)
            by_runtime[runtime] = {name: artifact.sha256_hex for name, artifact in built.items()}
        found[settings.workspace] = by_runtime[runtime]
    return found


def _move_assets(stack_dir: Path, swaps: Mapping[str, tuple[str, str]]) -> None:
    """`assets/<id>/<old>/<old>.zip` -> `assets/<id>/<new>/<new>.zip`, from the build folder."""
    from modules.packaging import BUILD_DIR

    for old, (new, function) in swaps.items():
        for folder in stack_dir.glob(f"assets/*/{old}"):
            target = folder.parent / new
            target.mkdir(exist_ok=True)
            shutil.copyfile(BUILD_DIR / "artifacts" / function / f"{new}.zip", target / f"{new}.zip")
            shutil.rmtree(folder)


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()
