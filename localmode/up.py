"""`make up`: the whole backend on this machine.

Checks the configuration and both ports first (one line naming the variable or the port and what
to do, before any work), synthesizes the `local` workspace (skipped when nothing changed), starts
the AWS emulator (port from EMULATOR_ENDPOINT), applies `bootstrap` and every `local-*` stack with
Terraform directly (progress as it goes), serves the API on 127.0.0.1 (LOCAL_API_PORT, default
8080) and prints the URL, the API key and example curl commands.

Ctrl-C or SIGTERM stop it in every phase (synth, deploy, serving) and leave no process or port
behind; `make down` (``python -m localmode.up down``) does the same from another shell. Stopping a
served deployment saves it, and the next start with the same synthesized stacks restores it instead
of deploying (:mod:`localmode.warm_start`; ``--fresh``, `make up FRESH=1`, deploys from nothing and
`make clean-local`, ``... clean``, removes the saved deployment). `make destroy-local`
(``... destroy``) destroys the local stacks, then stops; `make redeploy-local` (``... redeploy``)
applies changed code to the running emulator and rolls it out through CodeDeploy. When a stack
fails, the emulator keeps running for inspection until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from localmode.startup import DEFAULT_LOCAL_API_PORT

if TYPE_CHECKING:
    from localmode.deploy import LocalDeployer
    from localmode.warm_start import WarmStart

ROOT = Path(__file__).resolve().parent.parent
# The running instance's files and the local synth; LOCAL_STATE_DIR moves them (tests).
STATE_DIR = Path(os.environ.get("LOCAL_STATE_DIR") or ROOT / ".local")
PID_FILE = STATE_DIR / "up.pid"
API_FILE = STATE_DIR / "api.json"  # URL and key of the running API, for scripts (bench/load_local.py)
SNAPSHOT_DIR = STATE_DIR / "snapshot"  # the deployment saved at the last stop (localmode.warm_start)
STOP_TIMEOUT_SECONDS = 30  # saving the deployment included
EXIT_BAD_INPUT, EXIT_FAILED, EXIT_STOPPED = 2, 1, 130


class LocalModeError(RuntimeError):
    """Local mode cannot start; the message names the variable or port and what to do."""


@dataclass(frozen=True)
class LocalSettings:
    host: str
    port: int
    api_port: int

    @property
    def endpoint(self) -> str:
        return f"http://{'127.0.0.1' if self.host in ('0.0.0.0', '') else self.host}:{self.port}"


def read_settings(environ: Mapping[str, str], api_port: str | None = None) -> LocalSettings:
    """Emulator host/port and API port from the environment, validated (LocalModeError otherwise)."""
    from localmode.startup import EmulatorError, endpoint_from_environment

    try:
        host, port = endpoint_from_environment()
    except EmulatorError as err:
        raise LocalModeError(str(err)) from None
    raw = api_port if api_port is not None else environ.get("LOCAL_API_PORT") or str(DEFAULT_LOCAL_API_PORT)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise LocalModeError(f"LOCAL_API_PORT={raw!r} is not a port number: set it to a free port from 1 to "
                             f"65535 (default {DEFAULT_LOCAL_API_PORT}), e.g. LOCAL_API_PORT=8081 make up")
    if int(raw) == port:
        raise LocalModeError(f"LOCAL_API_PORT={raw} is the emulator's port (EMULATOR_ENDPOINT): choose another")
    return LocalSettings(host, port, int(raw))


def check_configuration(environ: Mapping[str, str]) -> None:
    """The `local` workspace's configuration, as `python main.py` would validate it."""
    from modules.config import ConfigError, load_settings

    try:
        load_settings({**environ, "WORKSPACES": "local"})
    except ConfigError as err:
        raise LocalModeError(f"invalid configuration: {'; '.join(err.problems)}") from None


def check_port_free(host: str, port: int, variable: str) -> None:
    """LocalModeError when another program listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind((host, port))
        except OSError as err:
            raise LocalModeError(f"port {port} on {host} ({variable}) is in use by another program ({err.strerror}): "
                                 f"stop it, or set {variable} to a free port") from None


def running_pid() -> int | None:
    """The pid of a running `make up`, from .local/up.pid (a stale file is removed)."""
    try:
        pid = int(PID_FILE.read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        PID_FILE.unlink(missing_ok=True)
        return None
    return pid


def preflight(environ: Mapping[str, str], api_port: str | None = None) -> LocalSettings:
    """Every check that needs no work: variables, configuration, an earlier run, both ports."""
    settings = read_settings(environ, api_port)
    pid = running_pid()
    if pid is not None:
        raise LocalModeError(f"local mode is already running (pid {pid}): `make down` stops it")
    check_configuration(environ)
    check_port_free(settings.host, settings.port, "EMULATOR_ENDPOINT")
    check_port_free("127.0.0.1", settings.api_port, "LOCAL_API_PORT")
    return settings


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
        "Ctrl-C (or `make down` in another shell) stops the emulator and the API and saves the deployment:",
        "the next `make up` restores it (`make up FRESH=1` starts empty).",
    ])


def say(line: str) -> None:
    print(line, flush=True)


def serve(settings: LocalSettings, stopped: threading.Event, log: Callable[[str], None] = say,
          fresh: bool = False) -> int:
    """Synth, emulator, the saved deployment restored or a deploy, API; then wait for `stopped`
    and save the deployment. The exit code."""
    from localmode import runtime
    from localmode.deploy import DeployCancelled, DeployError, LocalDeployer
    from localmode.emulator import Emulator
    from localmode.startup import EmulatorError
    from localmode.warm_start import WarmStart

    started = time.monotonic()
    deployer = LocalDeployer(settings.endpoint, STATE_DIR / "cdktf.out", log=log, cancelled=stopped)
    try:
        deployer.synth()
        warm = WarmStart.of(SNAPSHOT_DIR, deployer)
        with Emulator(settings.host, settings.port) as emulator:
            log(f"AWS emulator on {emulator.endpoint}")
            try:
                if fresh:
                    log("warm start: FRESH=1, the saved deployment is discarded; deploying")
                if fresh or not warm.restore(log):
                    warm.discard()
                    deployer.apply()
                    deployer.roll_out()
                api = runtime.start(emulator.endpoint, api_port=settings.api_port)
            except DeployCancelled:
                raise
            except (DeployError, runtime.NotDeployed) as err:
                log(f"error: {err}")
                log(f"The emulator keeps running on {emulator.endpoint} for inspection; Ctrl-C stops it.")
                stopped.wait()
                return EXIT_FAILED
            # The file first: a script that waits for the "API ready" line then reads it.
            API_FILE.write_text(json.dumps({"url": api.url, "api_key": api.api_key}))
            try:
                log(f"API ready in {time.monotonic() - started:.0f} s")
                log(banner(api.url, api.api_key or "(none: HTTP API variant)"))
                stopped.wait()
            finally:
                api.stop()
                API_FILE.unlink(missing_ok=True)
                save_deployment(warm, deployer, log)
    except DeployCancelled:
        log("stopped before local mode was up")
        return EXIT_STOPPED
    except (DeployError, EmulatorError) as err:
        log(f"error: {err}")
        return EXIT_FAILED
    finally:
        deployer.close()
    return 0


def save_deployment(warm: WarmStart, deployer: LocalDeployer, log: Callable[[str], None]) -> None:
    """Save the served deployment for the next start; a failure costs the warm start, not the stop."""
    try:
        warm.save(deployer.records, log)
    except Exception as err:  # the stop goes on: the next `make up` deploys
        warm.discard()
        log(f"warm start: deployment not saved ({type(err).__name__}: {err}); the next `make up` deploys")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localmode.up", description=__doc__.split("\n")[0])
    parser.add_argument("--api-port", help=f"API port (default LOCAL_API_PORT or {DEFAULT_LOCAL_API_PORT})")
    parser.add_argument("--fresh", action="store_true",
                        help="deploy from nothing instead of restoring the deployment saved at the last stop")
    args = parser.parse_args(argv)
    from localmode.startup import stop_event_on_signals

    stopped = stop_event_on_signals()
    try:
        settings = preflight(os.environ, args.api_port)
    except LocalModeError as err:
        print(f"error: {err}", file=sys.stderr, flush=True)
        return EXIT_BAD_INPUT
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    PID_FILE.write_text(str(os.getpid()))
    try:
        code = serve(settings, stopped, fresh=args.fresh)
    finally:
        PID_FILE.unlink(missing_ok=True)
    say("stopped: emulator and API are down, ports freed")
    return code


def _exited(pid: int) -> bool:
    """Whether the process is gone or has exited and waits to be reaped by its parent (a zombie)."""
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def stop_running(pid: int, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
    """SIGTERM the running `make up` and wait until it has exited."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _exited(pid):
            return True
        time.sleep(0.1)
    return False


def down() -> int:
    """Stop the running local mode without destroying (it saves its deployment for the next start)."""
    pid = running_pid()
    if pid is None:
        say("local mode is not running")
        return 0
    if not stop_running(pid):
        print(f"error: local mode (pid {pid}) did not stop within {STOP_TIMEOUT_SECONDS} s; "
              f"`kill -9 {pid}` ends it", file=sys.stderr)
        return EXIT_FAILED
    say("local mode stopped")
    return 0


def _on_running(what: str, work: Callable[[LocalDeployer], int]) -> int:
    """Run `work` with a deployer on the running local mode's emulator; the exit code (an
    `error:` line naming the problem when local mode is not running or a step fails)."""
    from localmode.deploy import DeployError, LocalDeployer
    from localmode.startup import EmulatorError, endpoint_from_environment

    if running_pid() is None:
        print(f"error: local mode is not running: nothing to {what} (`make up` starts it)", file=sys.stderr)
        return EXIT_FAILED
    try:
        host, port = endpoint_from_environment()
    except EmulatorError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    deployer = LocalDeployer(LocalSettings(host, port, 0).endpoint, STATE_DIR / "cdktf.out", log=say)
    try:
        return work(deployer)
    except DeployError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        deployer.close()


def destroy() -> int:
    """Destroy every local stack in the running emulator, then stop local mode."""
    def work(deployer: LocalDeployer) -> int:
        deployer.destroy()
        say("destroyed every local stack")
        return 0

    code = _on_running("destroy", work)
    return code if code else down()


def redeploy() -> int:
    """Apply the current code to the running local mode: synth, Terraform on every `local-*`
    stack, then the rollout (CodeDeploy with the pre-traffic hook; 1 when it rolled back)."""
    def work(deployer: LocalDeployer) -> int:
        deployer.synth()
        deployer.reapply()
        return deployer.roll_out()

    return _on_running("redeploy into", work)


def clean() -> int:
    """Remove the deployment saved at the last stop: the next `make up` deploys from nothing."""
    pid = running_pid()
    if pid is not None:
        print(f"error: local mode is running (pid {pid}) and saves its deployment when it stops: "
              "`make down` first, or start it again with `make up FRESH=1`", file=sys.stderr)
        return EXIT_FAILED
    import shutil

    existed = SNAPSHOT_DIR.exists()
    shutil.rmtree(SNAPSHOT_DIR, ignore_errors=True)
    say("removed the saved local deployment: the next `make up` deploys from nothing" if existed
        else "no saved local deployment: the next `make up` deploys from nothing")
    return 0


COMMANDS: dict[str, Callable[[], int]] = {"down": down, "destroy": destroy, "redeploy": redeploy, "clean": clean}

if __name__ == "__main__":
    command = COMMANDS.get(sys.argv[1]) if sys.argv[1:2] else None
    sys.exit(command() if command else main(sys.argv[1:]))
