"""Time `make up`'s phases and `make down` on an installed checkout.

Runs `make up` (ports from EMULATOR_ENDPOINT / LOCAL_API_PORT, 4566 and 8080 by default, must be
free), reads its progress lines as they come and prints, in seconds from the start: the synth
(and whether its cache made it a no-op), the emulator start, each stack (start, end, resources),
API ready and the total; then runs `make down` and times it until both ports are free.

    .venv/bin/python bench/bench_local.py            # synth as `make up` finds it (cached or not)
    .venv/bin/python bench/bench_local.py --cold     # forget the local synth cache first

Before this change (`make up` = synth of every workspace + `cdktf deploy bootstrap` +
`cdktf deploy 'local-*'`, `make down` = `cdktf destroy` then stop), measured on this 2-core machine:

    make up, installed checkout     ~245 s to API ready
      synth (every workspace) + emulator start    35 s
      cdktf deploy bootstrap                      82 s
      cdktf deploy 'local-*'                     127 s
    make down                        95 s
    (fresh clone incl. install: 354 s; by hand, Terraform alone: bootstrap 65 s, local-security 20 s,
     local-data 64 s, local-app 17 s, local-observability 10 s)
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localmode.startup import endpoint_from_environment  # noqa: E402

API_READY_TIMEOUT_SECONDS = 900
STACK_END = re.compile(r"^(?P<stack>[\w-]+): done in (?P<seconds>\d+) s, (?P<count>\d+) resources created")
STACK_START = re.compile(r"^(?P<stack>[\w-]+): apply started")


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


class Timeline:
    """`make up`'s lines with the second each arrived."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events: list[tuple[float, str]] = []
        self.api_ready = threading.Event()

    def add(self, line: str) -> None:
        at = time.monotonic() - self.started
        self.events.append((at, line))
        if line.startswith("API ready"):
            self.api_ready.set()

    def first(self, prefix: str) -> float | None:
        return next((at for at, line in self.events if line.startswith(prefix)), None)

    def report(self) -> list[str]:
        rows = []
        synth = self.first("synth: ")
        synth_line = next((line for _, line in self.events if line.startswith("synth: ") and " in " in line), "")
        if synth is not None:
            ended = self.first("synth: done") or self.first("synth: unchanged") or 0.0
            rows.append(f"synth                      {ended:7.1f}   ({synth_line.removeprefix('synth: ')})")
        emulator = self.first("AWS emulator on")
        if emulator is not None:
            rows.append(f"emulator started           {emulator:7.1f}")
        for at, line in self.events:
            start = STACK_START.match(line)
            if start:
                rows.append(f"  {start['stack']:<24} {at:7.1f}   start")
            end = STACK_END.match(line)
            if end:
                rows.append(f"  {end['stack']:<24} {at:7.1f}   end: {end['seconds']} s, {end['count']} resources")
        ready = self.first("API ready")
        rows.append(f"API ready (total)          {ready:7.1f}" if ready is not None else "API ready: never")
        return rows


def run_up(timeline: Timeline) -> subprocess.Popen[str]:
    proc = subprocess.Popen(["make", "--no-print-directory", "up"], cwd=ROOT, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            timeline.add(line.rstrip())
        timeline.api_ready.set()  # ended: do not wait any longer

    threading.Thread(target=read, daemon=True).start()
    return proc


def run_down(ports: tuple[int, int], host: str) -> float:
    started = time.monotonic()
    subprocess.run(["make", "--no-print-directory", "down"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    while not all(port_free(port, host) for port in ports):
        time.sleep(0.05)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", action="store_true", help="forget the local synth cache first")
    args = parser.parse_args(argv)
    host, emulator_port = endpoint_from_environment()
    api_port = int(os.environ.get("LOCAL_API_PORT") or 8080)
    if not port_free(emulator_port, host) or not port_free(api_port):
        print(f"ports {emulator_port} and {api_port} must be free (is local mode running? `make down`)")
        return 2
    if args.cold:
        (ROOT / ".local" / "cdktf.out" / "synth-inputs.sha256").unlink(missing_ok=True)
    timeline = Timeline()
    proc = run_up(timeline)
    if not timeline.api_ready.wait(API_READY_TIMEOUT_SECONDS) or timeline.first("API ready") is None:
        proc.terminate()
        proc.wait()
        print("\n".join(line for _, line in timeline.events[-30:]))
        print("make up did not reach API ready")
        return 1
    print("make up (seconds from start)")
    print("\n".join(timeline.report()))
    down = run_down((emulator_port, api_port), host)
    proc.wait(timeout=60)
    print(f"make down                  {down:7.1f}   (until both ports are free)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
