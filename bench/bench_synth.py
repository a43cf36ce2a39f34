"""Benchmark: synth cost against the floor of importing the provider bindings.

Prints wall time and peak memory of
  (a) importing the provider modules the app uses (every `cdktf_cdktf_provider_aws`
      module imported anywhere under modules/, found by scanning the sources), in a
      fresh interpreter: the floor;
  (b) a full synth of all workspaces in one fresh interpreter;
and the artifact sizes per function and for the dependencies layer.

Each measurement runs in its own subprocess, which reports its own peak: the Python
interpreter's (getrusage RUSAGE_SELF ru_maxrss) and, separately, the jsii Node process's
(the sum of the VmHWM of every node process below the interpreter, read from /proc
before it exits: jsii's Node processes are still running then, so RUSAGE_CHILDREN
would not see them).

Run: .venv/bin/python bench/bench_synth.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_PROVIDER_IMPORT = re.compile(r"\bcdktf_cdktf_provider_aws\.([a-z0-9_]+)")

# Appended to each measured program: print this process's peak and its Node children's.
REPORT = """
import json as _json, os as _os, resource as _resource
def _node_peaks_kib():
    # jsii runs `node jsii-runtime.js`, which runs the kernel in a second node process:
    # every node process below this interpreter counts.
    processes = {}
    for pid in filter(str.isdigit, _os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/status") as status:
                processes[pid] = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
    below, changed = {str(_os.getpid())}, True
    while changed:
        extra = {pid for pid, f in processes.items() if f.get("PPid", "").strip() in below} - below
        below, changed = below | extra, bool(extra)
    return [int(f.get("VmHWM", "0 kB").split()[0]) for pid, f in processes.items()
            if pid in below and pid != str(_os.getpid()) and "node" in f.get("Name", "")]
print("BENCH " + _json.dumps({"python_kib": _resource.getrusage(_resource.RUSAGE_SELF).ru_maxrss,
                              "node_kib": _node_peaks_kib()}))
"""

SYNTH = """
import os
from modules.app_builder import build_app
from modules.config import load_settings
build_app(load_settings(os.environ), outdir=os.environ["BENCH_OUTDIR"]).synth()
"""


def provider_modules(source_dir: Path = ROOT / "modules") -> list[str]:
    """Every provider submodule the app imports (e.g. `lambda_function`), from the sources."""
    found: set[str] = set()
    for path in sorted(source_dir.rglob("*.py")):
        found |= set(_PROVIDER_IMPORT.findall(path.read_text()))
    return sorted(found)


def floor_program(modules: list[str]) -> str:
    imports = "\n".join(f"import cdktf_cdktf_provider_aws.{name}" for name in modules)
    # `import modules` silences the jsii banner exactly as the app does.
    return f"import modules\nimport cdktf\n{imports}\n"


def _run(code: str, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, Python peak RSS (MiB) and Node peak RSS (MiB) of one fresh interpreter."""
    start = time.perf_counter()
    completed = subprocess.run([sys.executable, "-c", code + REPORT], cwd=ROOT, env=env, check=True,
                               capture_output=True, text=True)
    wall = time.perf_counter() - start
    line = next(line for line in completed.stdout.splitlines() if line.startswith("BENCH "))
    report = json.loads(line.removeprefix("BENCH "))
    return wall, report["python_kib"] / 1024, sum(report["node_kib"]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
           "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
    used = provider_modules()
    floor_code = floor_program(used)
    floors, synths = [], []
    floor_peak = floor_node = synth_peak = synth_node = 0.0
    for _ in range(args.runs):
        wall, peak, node = _run(floor_code, env)
        floors.append(wall)
        floor_peak, floor_node = max(floor_peak, peak), max(floor_node, node)
        with tempfile.TemporaryDirectory() as outdir:
            wall, peak, node = _run(SYNTH, {**env, "BENCH_OUTDIR": outdir})
        synths.append(wall)
        synth_peak, synth_node = max(synth_peak, peak), max(synth_node, node)
    floor, synth = statistics.median(floors), statistics.median(synths)
    print(f"provider modules used : {len(used)} (scanned from modules/)")
    print(f"provider import floor : {floor:6.2f} s  (median of {args.runs}), peak RSS "
          f"{floor_peak:7.1f} MiB python, {floor_node:7.1f} MiB node")
    print(f"full synth, all ws    : {synth:6.2f} s  (median of {args.runs}), peak RSS "
          f"{synth_peak:7.1f} MiB python, {synth_node:7.1f} MiB node")
    print(f"synth / floor         : {synth / floor:6.2f} x  (target <= 1.5)")

    from modules.catalog import FUNCTIONS
    from modules.config import load_settings
    from modules.packaging import build_function, build_layer

    build = ROOT / "build"
    print("artifacts:")
    for spec in FUNCTIONS:
        artifact = build_function(spec, build)
        print(f"  {spec.name:16s} {artifact.size / 1024:7.1f} KiB  {artifact.key}")
    settings = load_settings({"WORKSPACES": "dev"})[0]
    layer = build_layer(settings.app.lambda_architecture, settings.app.lambda_runtime, build)
    print(f"  {'layer':16s} {layer.size / 1024:7.1f} KiB  {layer.key}")


if __name__ == "__main__":
    main()
