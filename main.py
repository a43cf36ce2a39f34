"""Synthesize the product: one set of layer stacks per workspace, plus `bootstrap`.

Configuration is validated before anything is built, so a bad value leaves no output.
The synth is skipped when its inputs (sources, lock files, configuration variables, tool
versions; see `delivery.synth_cache`) are unchanged since the last synth into the same
output directory. When only function code changed, the new zips are put into that output
without loading cdktf (`delivery.code_resynth`). `--force` (or `make clean`) synthesizes anyway.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from delivery import code_resynth, synth_cache
from modules.bytecode import BUILD_VARIABLES
from modules.config import ENVIRONMENT_VARIABLES, ConfigError, load_settings

# Besides the configuration: the packaging's interpreter setting, and PATH, where the
# packaging looks for an interpreter of the functions' runtime (bytecode or sources only).
CACHE_VARIABLES = (*ENVIRONMENT_VARIABLES, *BUILD_VARIABLES, "PATH")


def main(argv: list[str] | None = None) -> int:
    """`argv`: the command-line flags (none when called from code)."""
    parser = argparse.ArgumentParser(prog="python main.py", description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="synthesize even when the synth cache is fresh")
    args = parser.parse_args(argv or [])
    try:
        workspaces = load_settings(os.environ)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    outdir = synth_cache.output_dir(os.environ)
    tools = synth_cache.tool_versions()
    digest = synth_cache.inputs_digest(os.environ, CACHE_VARIABLES, synth_cache.ROOT, tools)
    if not args.force and synth_cache.is_fresh(outdir, digest):
        print(f"synth cache fresh: {outdir} is up to date (python main.py --force synthesizes anyway)")
        return 0
    started = time.monotonic()
    swapped = None if args.force else code_resynth.resynth(outdir, os.environ, CACHE_VARIABLES, synth_cache.ROOT, tools)
    if swapped is not None:
        synth_cache.record(outdir, digest)
        print(f"synth: function code only, {len(swapped)} zip(s) changed ({', '.join(swapped) or 'none'}): "
              f"put into {outdir} in {time.monotonic() - started:.1f} s (python main.py --force synthesizes in full)")
        return 0
    synth_cache.forget(outdir)
    code_resynth.forget(outdir)
    # Imported after validation: loading the provider bindings takes seconds.
    from modules.app_builder import build_app

    try:
        app = build_app(workspaces)
    except ConfigError as err:  # a packaging setting (LAMBDA_BUILD_PYTHON); nothing is written yet
        print(f"error: {err}", file=sys.stderr)
        return 2
    app.synth()
    code_resynth.record(outdir, os.environ, CACHE_VARIABLES, synth_cache.ROOT, tools,
                        code_resynth.imported_handler_files(synth_cache.ROOT), synthesized_from=digest)
    synth_cache.record(outdir, digest)
    for stack in app.node.children:
        print(f"synthesized stack {stack.node.id}")
    print(f"synthesized into {outdir} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
