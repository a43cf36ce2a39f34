"""Time local mode's inner loop on an installed checkout, and print each figure beside its target.

In order: `make up FRESH=1` (its phases: synth, emulator start, each stack, API ready), `make watch`
from saving an edit of the health handler to the local API answering with it, `make redeploy-local`
with that edit in the tree, again with it undone, and with nothing changed, `make down` (which saves
the deployment), then the warm `make up` that restores it, and `make down`. The health handler is
edited in place and restored byte for byte. Ports from EMULATOR_ENDPOINT / LOCAL_API_PORT (4566 and
8080 by default) must be free.

    .venv/bin/python bench/bench_local.py            # the local-mode figures (about 4 minutes)
    .venv/bin/python bench/bench_local.py --cold     # forget the local synth cache first
    .venv/bin/python bench/bench_local.py --tests    # also `make unit` and `make test` in a fresh clone

Targets (2 cores): first `make up` about 140 s (the provider's waits are its floor), warm `make up`
20 s, edit to answer under `make watch` 5 s, `make redeploy-local` after a handler-only change 30 s,
`make unit` 90 s, `make test` 8 minutes (install excluded). docs/benchmarks.md has the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localmode.startup import endpoint_from_environment  # noqa: E402
from localmode.up import API_FILE  # noqa: E402

API_READY_TIMEOUT_SECONDS = 900
ANSWER_TIMEOUT_SECONDS = 120
HEALTH_LOGIC = ROOT / "handlers" / "api" / "logic" / "health.py"
EDIT = ('        checks["table"] = "ok"\n', '        checks["table"] = "ok"\n        checks["bench"] = "ok"\n')
# The inner loop's targets, in seconds, on a 2-core machine (docs/benchmarks.md).
FIRST_UP_TARGET, WARM_UP_TARGET, WATCH_TARGET, REDEPLOY_TARGET = 140, 20, 5, 30
UNIT_TARGET, TEST_TARGET = 90, 480
STACK_END = re.compile(r"^(?P<stack>[\w-]+): done in (?P<seconds>\d+) s, (?P<count>\d+) resources")
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

    def tail(self, count: int = 30) -> str:
        return "\n".join(line for _, line in self.events[-count:])

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


def run_up(timeline: Timeline, *args: str) -> subprocess.Popen[str]:
    # A session of its own, so the bench stops make and its Python as one group (`interrupt`).
    proc = subprocess.Popen(["make", "--no-print-directory", "up", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

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


def timed(command: list[str], cwd: Path = ROOT) -> float:
    """Seconds `command` takes; its output is shown only when it fails."""
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, text=True, capture_output=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed (exit {result.returncode}):\n{result.stdout[-3000:]}"
                         f"{result.stderr[-2000:]}")
    return time.monotonic() - started


def health_checks(url: str, api_key: str) -> dict[str, str]:
    request = urllib.request.Request(f"{url}/health", headers={"x-api-key": api_key})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return dict(json.loads(answer.read())["checks"])
    except OSError:
        return {}


def watch_edit_to_answer() -> float:
    """`make watch` running; seconds from saving an edit of the health handler to the local API
    answering with it. The edit stays in the tree (the caller restores the file)."""
    api = json.loads(API_FILE.read_text())
    watcher = subprocess.Popen(["make", "--no-print-directory", "watch"], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    output = Timeline()  # read to the end: a pipe nobody reads would stall the watcher once full
    watching = threading.Event()

    def read() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            output.add(line.rstrip())
            if "watching" in line:
                watching.set()
        watching.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not watching.wait(ANSWER_TIMEOUT_SECONDS) or watcher.poll() is not None:
            raise SystemExit("make watch did not start watching:\n" + output.tail())
        text = HEALTH_LOGIC.read_text()
        if EDIT[0] not in text:
            raise SystemExit(f"{HEALTH_LOGIC} changed: update bench_local.py's EDIT")
        started = time.monotonic()
        HEALTH_LOGIC.write_text(text.replace(EDIT[0], EDIT[1], 1))
        while time.monotonic() - started < ANSWER_TIMEOUT_SECONDS:
            if health_checks(api["url"], api["api_key"]).get("bench") == "ok":
                return time.monotonic() - started
            time.sleep(0.1)
        raise SystemExit(f"the edited handler did not answer within {ANSWER_TIMEOUT_SECONDS} s; make watch said:\n"
                         + output.tail())
    finally:
        interrupt(watcher, "make watch")


def interrupt(proc: subprocess.Popen[str], name: str) -> None:
    """Stop `proc` and everything it started as Ctrl-C in its terminal would (SIGINT to the group)."""
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop within 60 s of Ctrl-C: killed", flush=True)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def stopped_on_failure(timeline: Timeline, proc: subprocess.Popen[str]) -> Iterator[None]:
    """If the block fails (or is interrupted), show `make up`'s last lines and stop it: no `make up`
    is left running behind a failed bench."""
    try:
        yield
    except BaseException:
        print("make up's last lines:", timeline.tail(), sep="\n", flush=True)
        interrupt(proc, "make up")
        raise


def up_until_ready(*args: str) -> tuple[Timeline, subprocess.Popen[str]]:
    timeline = Timeline()
    proc = run_up(timeline, *args)
    with stopped_on_failure(timeline, proc):
        if not timeline.api_ready.wait(API_READY_TIMEOUT_SECONDS) or timeline.first("API ready") is None:
            raise SystemExit("make up did not reach API ready")
    return timeline, proc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", action="store_true", help="forget the local synth cache first")
    parser.add_argument("--tests", action="store_true",
                        help="also time `make unit` and `make test` in a fresh clone of HEAD (install untimed)")
    args = parser.parse_args(argv)
    # Started in the background of a non-interactive shell (`bench &`), this process inherits SIGINT
    # ignored, and so would make and the Python under it: the Ctrl-C `interrupt` sends would not stop
    # them. A handler here is reset to the default in every program the bench starts.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    host, emulator_port = endpoint_from_environment()
    api_port = int(os.environ.get("LOCAL_API_PORT") or 8080)
    ports = (emulator_port, api_port)
    if not port_free(emulator_port, host) or not port_free(api_port):
        print(f"ports {emulator_port} and {api_port} must be free (is local mode running? `make down`)")
        return 2
    if args.cold:
        (ROOT / ".local" / "cdktf.out" / "synth-inputs.sha256").unlink(missing_ok=True)
    figures: list[tuple[str, float, float | None]] = []  # what, seconds, target

    timeline, proc = up_until_ready("FRESH=1")
    print("make up FRESH=1 (seconds from start)", *timeline.report(), sep="\n", flush=True)
    figures.append(("make up, first (FRESH=1)", timeline.first("API ready") or 0.0, FIRST_UP_TARGET))
    original = HEALTH_LOGIC.read_bytes()
    with stopped_on_failure(timeline, proc):
        try:
            figures.append(("make watch: edit -> new answer", watch_edit_to_answer(), WATCH_TARGET))
            figures.append(("make redeploy-local, handler-only change", timed(["make", "redeploy-local"]),
                            REDEPLOY_TARGET))
        finally:
            HEALTH_LOGIC.write_bytes(original)  # the working tree as it was
        figures.append(("make redeploy-local, the edit undone", timed(["make", "redeploy-local"]),
                        REDEPLOY_TARGET))
        figures.append(("make redeploy-local, nothing changed", timed(["make", "redeploy-local"]), None))
        figures.append(("make down (saves the deployment)", run_down(ports, host), None))
        proc.wait(timeout=60)

    timeline, proc = up_until_ready()
    with stopped_on_failure(timeline, proc):
        restored = any("warm start: restored" in line for _, line in timeline.events)
        print("make up, warm (seconds from start)", *timeline.report(), sep="\n", flush=True)
        figures.append((f"make up, warm ({'restored' if restored else 'NOT restored'})",
                        timeline.first("API ready") or 0.0, WARM_UP_TARGET))
        figures.append(("make down", run_down(ports, host), None))
        proc.wait(timeout=60)

    if args.tests:
        with tempfile.TemporaryDirectory(prefix="bench-clone-") as clone:
            subprocess.run(["git", "clone", "-q", str(ROOT), clone], check=True)
            print("installing the fresh clone (untimed) ...", flush=True)
            timed(["make", "install"], Path(clone))
            figures.append(("make unit (fresh clone, installed)", timed(["make", "unit"], Path(clone)), UNIT_TARGET))
            figures.append(("make test (fresh clone, installed)", timed(["make", "test"], Path(clone)), TEST_TARGET))

    print(f"\n{'measure':<44} {'seconds':>8} {'target':>8}")
    for what, seconds, target in figures:
        verdict = "" if target is None else ("  met" if seconds <= target else "  MISSED")
        print(f"{what:<44} {seconds:8.1f} {'' if target is None else f'{target:8.0f}'}{verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
