"""Benchmark: synth cost against the floor of importing the provider bindings.

Prints wall time and peak memory (max RSS of the child, which includes the jsii Node
process only through its own accounting: reported separately) of
  (a) importing the provider modules the app uses, in a fresh interpreter (the floor),
  (b) a full synth of all workspaces in one fresh interpreter,
and the artifact sizes per function and for the dependencies layer.

Run: .venv/bin/python bench/bench_synth.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR = """
import modules  # silences the jsii banner exactly as the app does
import cdktf
from cdktf_cdktf_provider_aws import (provider, kms_key, vpc, subnet, dynamodb_table, s3_bucket, sqs_queue,
    lambda_function, sfn_state_machine, iam_role, cloudwatch_log_group, s3_object, lambda_layer_version)
"""

SYNTH = """
import os
from modules.app_builder import build_app
from modules.config import load_settings
build_app(load_settings(os.environ), outdir=os.environ["BENCH_OUTDIR"]).synth()
"""


def _run(code: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh interpreter running `code`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    floors, synths = [], []
    floor_peak = synth_peak = 0.0
    for _ in range(args.runs):
        wall, peak = _run(FLOOR, env)
        floors.append(wall)
        floor_peak = max(floor_peak, peak)
        with tempfile.TemporaryDirectory() as outdir:
            wall, peak = _run(SYNTH, {**env, "BENCH_OUTDIR": outdir})
        synths.append(wall)
        synth_peak = max(synth_peak, peak)
    floor, synth = statistics.median(floors), statistics.median(synths)
    print(f"provider import floor : {floor:6.2f} s  (median of {args.runs}), peak RSS {floor_peak:7.1f} MiB (python)")
    print(f"full synth, all ws    : {synth:6.2f} s  (median of {args.runs}), peak RSS {synth_peak:7.1f} MiB (python)")
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
