"""Run the real Terraform CLI on synthesized stacks (tests, local mode, CI tools).

Where Terraform gets the AWS provider: from the filesystem mirror named by
`TF_PROVIDER_MIRROR`, or, when that is unset, the one `scripts/find-provider-mirror`
finds on this machine (so running pytest directly works like `make test`). With a
mirror, the harness writes a CLI configuration into its own temporary directory and
points `TF_CLI_CONFIG_FILE` at it for its subprocesses only; the user's own CLI
configuration is never read or changed. Without one, Terraform downloads the provider
as usual.

Terraform and its provider run with `GOGC=400` unless the environment sets GOGC (less CPU
spent collecting garbage; see GO_GC_PERCENT).

Providers are cached once per machine in a plugin cache shared by every harness
(`TF_PLUGIN_CACHE_DIR`, default `.local/terraform-plugin-cache` in the checkout), so
each `terraform init` links the provider instead of copying it; the first init that
fills the cache holds a file lock, because Terraform's cache is not safe for concurrent
writers. `stream` runs a command with `-json` output and hands each event to a callback;
every subprocess runs in its own process group and is killed with its provider plugins
when a cancel event is set, on timeout, or on `close()`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

MIRROR_VARIABLE = "TF_PROVIDER_MIRROR"
PLUGIN_CACHE_VARIABLE = "TF_PLUGIN_CACHE_DIR"
ROOT = Path(__file__).resolve().parents[1]
FIND_MIRROR = ROOT / "scripts" / "find-provider-mirror"
DEFAULT_PLUGIN_CACHE = ROOT / ".local" / "terraform-plugin-cache"
KILL_GRACE_SECONDS = 3.0
# Terraform and the AWS provider are Go programs that spend a third of their CPU in the garbage
# collector (decoding the provider's schema allocates heavily). Collecting at 400 % heap growth
# instead of Go's default 100 % (the runtime's documented GOGC variable; a user's own value wins):
# a `terraform plan` of local-app took 9.3 CPU-s instead of 13.2, a validate 4.9 instead of 6.8,
# for about 130 MB more memory per process (docs/benchmarks.md).
GO_GC_PERCENT = "400"
Event = dict[str, Any]  # one line of `terraform ... -json` output


def provider_mirror() -> str | None:
    """`TF_PROVIDER_MIRROR`, else the mirror found on this machine, else None (use the registry)."""
    configured = os.environ.get(MIRROR_VARIABLE)
    if configured:
        return configured
    found = subprocess.run([str(FIND_MIRROR)], capture_output=True, text=True, check=False, timeout=60)
    return found.stdout.strip() or None


class TerraformError(RuntimeError):
    """A Terraform command failed; the message carries its output."""


class TerraformCancelled(TerraformError):
    """The command was stopped because its cancel event was set (Ctrl-C, SIGTERM)."""


def plugin_cache_dir() -> Path:
    """`TF_PLUGIN_CACHE_DIR`, else `.local/terraform-plugin-cache` in this checkout."""
    configured = os.environ.get(PLUGIN_CACHE_VARIABLE)
    return Path(configured) if configured else DEFAULT_PLUGIN_CACHE


def kill_process_group(proc: subprocess.Popen[str], grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM the process group of `proc` (Terraform and its provider plugins), SIGKILL
    whatever is left after `grace` seconds; return once `proc` has exited."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            # The group may outlive its leader (a provider plugin): make sure it is gone.
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


@dataclass(frozen=True)
class TerraformResult:
    returncode: int
    stdout: str
    stderr: str


def cli_config(mirror: str, plugin_cache: str) -> str:
    """CLI configuration installing the AWS provider from a filesystem mirror only. The
    cache may serve stacks whose lock file does not yet hold the provider's checksums
    (fresh synth output): the mirror is the only source either way."""
    return (
        f'plugin_cache_dir = "{plugin_cache}"\n'
        "plugin_cache_may_break_dependency_lock_file = true\n"
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path = "{mirror}"\n  }}\n'
        "}\n"
    )


class Terraform:
    """A Terraform CLI runner with its own environment (mirror, plugin cache, extras)."""

    def __init__(self, mirror: str | None = None, extra_env: dict[str, str] | None = None,
                 plugin_cache: Path | None = None) -> None:
        self.binary = shutil.which("terraform")
        if self.binary is None:
            raise TerraformError("terraform is not on PATH; install Terraform >= 1.10")
        self._workdir = tempfile.TemporaryDirectory(prefix="tf-harness-")
        self._running: set[subprocess.Popen[str]] = set()
        self._lock = threading.Lock()
        self.env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1",
                    "GOGC": os.environ.get("GOGC") or GO_GC_PERCENT, **(extra_env or {})}
        self.plugin_cache = plugin_cache or plugin_cache_dir()
        self.plugin_cache.mkdir(parents=True, exist_ok=True)
        self.env.pop(PLUGIN_CACHE_VARIABLE, None)  # the CLI configuration below names it
        config = Path(self._workdir.name, "terraform.tfrc")
        mirror = mirror if mirror is not None else provider_mirror()
        if mirror:
            if not Path(mirror).is_dir():
                raise TerraformError(f"{MIRROR_VARIABLE}={mirror!r} is not a directory")
            config.write_text(cli_config(mirror, str(self.plugin_cache)))
        else:
            config.write_text(f'plugin_cache_dir = "{self.plugin_cache}"\n')
        self.env["TF_CLI_CONFIG_FILE"] = str(config)

    def close(self) -> None:
        """Kill every command still running, then remove the harness's temporary files."""
        self.kill_all()
        self._workdir.cleanup()

    def kill_all(self) -> None:
        """Kill every running command of this harness (with its provider plugins)."""
        with self._lock:
            running = list(self._running)
        for proc in running:
            kill_process_group(proc)

    def run(self, stack_dir: str | Path, *args: str, check: bool = True, timeout: int = 900,
            cancelled: threading.Event | None = None) -> TerraformResult:
        """Run `terraform <args>` in a stack directory."""
        return self._execute(stack_dir, args, None, check, timeout, cancelled)

    def stream(self, stack_dir: str | Path, *args: str, on_event: Callable[[Event], None],
               check: bool = True, timeout: int = 900, cancelled: threading.Event | None = None) -> TerraformResult:
        """Run `terraform <args> -json`, calling `on_event` with each JSON line as it arrives."""
        return self._execute(stack_dir, (*args, "-json"), on_event, check, timeout, cancelled)

    def _execute(self, stack_dir: str | Path, args: tuple[str, ...], on_event: Callable[[Event], None] | None,
                 check: bool, timeout: float, cancelled: threading.Event | None) -> TerraformResult:
        assert self.binary is not None
        proc = subprocess.Popen([self.binary, *args], cwd=stack_dir, env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        with self._lock:
            self._running.add(proc)
        stopped = Watchdog(proc, timeout, cancelled or threading.Event())
        try:
            stderr: list[str] = []
            reader = threading.Thread(target=lambda: stderr.append(_read(proc.stderr)), daemon=True)
            reader.start()
            stdout = _read_events(proc.stdout, on_event) if on_event else _read(proc.stdout)
            proc.wait()
            reader.join()
        finally:
            stopped.finish()
            if proc.poll() is None:  # left early (a callback raised): leave nothing running
                kill_process_group(proc)
            with self._lock:
                self._running.discard(proc)
        result = TerraformResult(proc.returncode, stdout, "".join(stderr))
        what = f"terraform {' '.join(args)} in {stack_dir}"
        if stopped.reason == "cancelled":
            raise TerraformCancelled(f"{what}: stopped (cancelled)")
        if stopped.reason == "timeout":
            raise TerraformError(f"{what}: took longer than {timeout:.0f} s and was killed")
        if check and proc.returncode != 0:
            raise TerraformError(f"{what} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def init(self, stack_dir: str | Path, backend: bool = True, *, reconfigure: bool = False,
             cancelled: threading.Event | None = None, check: bool = True) -> TerraformResult:
        args = ["init", "-input=false", "-no-color"]
        if not backend:
            args.append("-backend=false")
        if reconfigure:
            args.append("-reconfigure")
        with self._cache_filled():
            return self.run(stack_dir, *args, cancelled=cancelled, check=check)

    @contextmanager
    def _cache_filled(self) -> Iterator[None]:
        # Terraform's plugin cache has no locking of its own: the init that fills it
        # runs alone; once the provider is there, inits only read it and run in parallel.
        if any(self.plugin_cache.glob("*/*/*/*/*")):
            yield
            return
        with open(self.plugin_cache / ".fill.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def validate(self, stack_dir: str | Path) -> TerraformResult:
        """`terraform init -backend=false` then `terraform validate -json` (its report, whatever the
        verdict: an invalid configuration exits 1 with its diagnostics on stdout)."""
        self.init(stack_dir, backend=False)
        return self.run(stack_dir, "validate", "-json", "-no-color", check=False)


class Watchdog:
    """Kills a command's process group when `cancelled` is set or `timeout` passes
    (`reason` then says which); `finish()` once the command has ended on its own."""

    def __init__(self, proc: subprocess.Popen[str], timeout: float, cancelled: threading.Event) -> None:
        self.reason: str | None = None
        self._proc, self._deadline, self._cancelled = proc, time.monotonic() + timeout, cancelled
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.is_set():
            if self._cancelled.is_set() or time.monotonic() > self._deadline:
                self.reason = "cancelled" if self._cancelled.is_set() else "timeout"
                kill_process_group(self._proc)
                return
            self._done.wait(0.1)

    def finish(self) -> None:
        self._done.set()
        self._thread.join()


def _read(stream: IO[str] | None) -> str:
    return stream.read() if stream is not None else ""


def _read_events(stream: IO[str] | None, on_event: Callable[[Event], None]) -> str:
    lines = []
    for line in stream if stream is not None else ():
        lines.append(line)
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            on_event(event)
    return "".join(lines)
