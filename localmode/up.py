"""`make up`: the whole backend on this machine.

Starts the AWS emulator (port from EMULATOR_ENDPOINT), deploys `bootstrap` and every
`local-*` stack into it with `cdktf deploy` (real Terraform and provider), serves the API
on 127.0.0.1 (LOCAL_API_PORT, default 8080) and prints the URL, the API key and example
curl commands. Ctrl-C (or `make down`, which destroys first) stops everything.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from localmode import runtime
from localmode.deploy import LocalDeployer
from localmode.emulator import Emulator, endpoint_from_environment, stop_event_on_signals

ROOT = Path(__file__).resolve().parent.parent
PID_FILE = ROOT / ".local" / "up.pid"
API_FILE = ROOT / ".local" / "api.json"  # URL and key of the running API, for scripts (bench/load_local.py)


def banner(url: str, api_key: str) -> str:
    return "\n".join([
        "",
        f"API:      {url}",
        f"API key:  {api_key}",
        "",
        "Try:",
        f"  curl -s {url}/health",
        f"  curl -s -X POST {url}/items -H 'x-api-key: {api_key}' -H 'content-type: application/json' "
        "-d '{\"name\": \"first item\"}'",
        f"  curl -s {url}/items -H 'x-api-key: {api_key}'",
        "",
        "Ctrl-C stops the emulator and the API (`make down` destroys the stacks first).",
    ])


def main(argv: list[str] | None = None) -> int:
    host, port = endpoint_from_environment()
    parser = argparse.ArgumentParser(prog="python -m localmode.up", description=__doc__.split("\n")[0])
    parser.add_argument("--api-port", type=int, default=int(os.environ.get("LOCAL_API_PORT", "8080")))
    args = parser.parse_args(argv)
    stopped = stop_event_on_signals()
    started = time.monotonic()
    with Emulator(host, port) as emulator:
        print(f"AWS emulator on {emulator.endpoint}", flush=True)
        deployer = LocalDeployer(emulator.endpoint, log=lambda line: print(line, flush=True))
        try:
            deployer.deploy()
            api = runtime.start(emulator.endpoint, api_port=args.api_port)
        finally:
            deployer.close()
        print(f"deployed in {time.monotonic() - started:.0f} s", flush=True)
        print(banner(api.url, api.api_key or "(none: HTTP API variant)"), flush=True)
        PID_FILE.parent.mkdir(exist_ok=True)
        PID_FILE.write_text(str(os.getpid()))
        API_FILE.write_text(json.dumps({"url": api.url, "api_key": api.api_key}))
        try:
            stopped.wait()
        finally:
            api.stop()
            PID_FILE.unlink(missing_ok=True)
            API_FILE.unlink(missing_ok=True)
    print("stopped: emulator and API are down, ports freed", flush=True)
    return 0


def down() -> int:
    """Destroy every local stack in the running emulator, then stop `make up`."""
    if not PID_FILE.exists():
        print("local mode is not running (no .local/up.pid)", file=sys.stderr)
        return 1
    host, port = endpoint_from_environment()
    deployer = LocalDeployer(f"http://{host}:{port}", log=lambda line: print(line, flush=True))
    try:
        deployer.destroy()
    finally:
        deployer.close()
    os.kill(int(PID_FILE.read_text()), signal.SIGTERM)
    print("destroyed; local mode is stopping", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(down() if sys.argv[1:2] == ["down"] else main(sys.argv[1:]))
