"""Deploy and destroy the `local` workspace with Terraform run directly on the synthesized stacks.

One synth of `local` (plus `bootstrap`) with `python main.py` (its synth cache skips it when
nothing changed), then `terraform init` and `terraform apply -auto-approve -json` per stack:
exactly the synthesized stacks, with their own backends (the `bootstrap` state in a local file
next to the output, every `local-*` state in the emulator's S3 with S3-native locking), so
`terraform plan` afterwards shows no changes. Stacks run in the dependency order of cdktf's
manifest (`delivery.stacks`), independent ones in parallel. `cdktf deploy` remains the way
to deploy to AWS.

What `bootstrap` gives the other stacks is its state bucket: they start as soon as Terraform
reports that bucket created, while `bootstrap` finishes the rest (the provider waits about a
minute for each lifecycle configuration to read back the same ten times in a row).

Progress goes to `log`: a line when a stack starts and ends, a line every few seconds while it
runs (resources done/total from Terraform's JSON output), and on failure the stack, the
resource and Terraform's own message. Setting `cancelled` (Ctrl-C, SIGTERM) stops the synth
or the running Terraform commands (killed with their provider plugins) and starts nothing new.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from delivery.stacks import BOOTSTRAP, Outcome, Stack, load_stacks, run_in_order
from delivery.terraform import Event, Terraform, TerraformCancelled, TerraformError, Watchdog, kill_process_group
from localmode.applied import AppliedRecords, configuration_digest, skip_reason
from localmode.progress import TICK_SECONDS, StackProgress, Ticker
from modules.product_defaults import DEFAULT_REGION, EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY

ROOT = Path(__file__).resolve().parent.parent
WORKSPACE = "local"
SYNTH_TIMEOUT_SECONDS = 600
APPLY_TIMEOUT_SECONDS = 900
# Resources Terraform works on at once within a stack: most of local mode's time is provider
# waits (SQS, KMS, S3 lifecycle), not work, so more than Terraform's default 10 pays.
TERRAFORM_PARALLELISM = 30
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": EMULATOR_ACCESS_KEY_ID,
                        "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET_ACCESS_KEY}


class DeployError(RuntimeError):
    """The synth or a Terraform command failed; the message names the stack, the resource
    and carries Terraform's own message."""


class DeployCancelled(DeployError):
    """Stopped on request (Ctrl-C, SIGTERM) before it finished."""


def default_parallel_stacks() -> int:
    """Stacks applied at once: bounded by the machine (each runs Terraform and a provider)."""
    return max(2, min(4, os.cpu_count() or 2))


class LocalDeployer:
    """Synthesizes the local workspace and applies/destroys its stacks against one emulator endpoint."""

    # Its own output directory, so `cdktf.out/` keeps the synth of every workspace.
    def __init__(self, endpoint: str, outdir: Path = ROOT / ".local" / "cdktf.out",
                 log: Callable[[str], None] = print, cancelled: threading.Event | None = None,
                 max_parallel: int | None = None) -> None:
        self.endpoint = endpoint
        self.outdir = outdir
        self.cancelled = cancelled or threading.Event()
        self.max_parallel = max_parallel or default_parallel_stacks()
        self._log = log
        self._active: dict[str, StackProgress] = {}
        self.terraform = Terraform(extra_env={**EMULATOR_CREDENTIALS, "TF_PLUGIN_TIMEOUT": "120s"})
        self._records: AppliedRecords | None = None

    @property
    def records(self) -> AppliedRecords:
        """What each stack was last applied from (in the emulator's state bucket)."""
        if self._records is None:
            import boto3  # the deploy itself needs no AWS client: only the records do

            self._records = AppliedRecords(boto3.client(
                "s3", endpoint_url=self.endpoint, region_name=DEFAULT_REGION,
                aws_access_key_id=EMULATOR_ACCESS_KEY_ID, aws_secret_access_key=EMULATOR_SECRET_ACCESS_KEY))
        return self._records

    def close(self) -> None:
        """Kill any Terraform command still running and remove temporary files."""
        self.terraform.close()

    # --- synth ---------------------------------------------------------------------------

    def synth(self) -> None:
        """`python main.py` for `local` (+ `bootstrap`) into `outdir`; a no-op when its cache is fresh."""
        env = {**os.environ, "WORKSPACES": WORKSPACE, "EMULATOR_ENDPOINT": self.endpoint,
               "CDKTF_OUTDIR": str(self.outdir), "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
        started = time.monotonic()
        self._log(f"synth: started (python main.py, WORKSPACES={WORKSPACE}, into {self.outdir})")
        proc = subprocess.Popen([sys.executable, str(ROOT / "main.py")], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        watchdog = Watchdog(proc, SYNTH_TIMEOUT_SECONDS, self.cancelled)
        done = threading.Event()
        heartbeat = threading.Thread(target=self._synth_heartbeat, args=(started, done), daemon=True)
        heartbeat.start()
        try:
            output, _ = proc.communicate()
        finally:
            done.set()
            heartbeat.join()
            watchdog.finish()
            if proc.poll() is None:
                kill_process_group(proc)
        if watchdog.reason == "cancelled":
            raise DeployCancelled("synth stopped")
        if watchdog.reason == "timeout" or proc.returncode != 0:
            raise DeployError(f"synth of the {WORKSPACE} workspace failed (python main.py):\n{output[-4000:]}")
        if "synth cache fresh" in output:
            self._log(f"synth: unchanged, skipped in {time.monotonic() - started:.0f} s")
        elif "function code only" in output:  # main.py's line: which zips it put into the last synth
            self._log(next(line for line in output.splitlines() if "function code only" in line))
        else:
            self._log(f"synth: done in {time.monotonic() - started:.0f} s")

    def _synth_heartbeat(self, started: float, done: threading.Event) -> None:
        while not done.wait(TICK_SECONDS):
            self._log(f"synth: running, {time.monotonic() - started:.0f} s")

    # --- apply ---------------------------------------------------------------------------

    def stacks(self) -> list[Stack]:
        """`bootstrap` and every `local-*` stack in dependency order."""
        return load_stacks(self.outdir, [WORKSPACE], with_bootstrap=True)

    def stack_dirs(self) -> list[Path]:
        return [stack.directory for stack in self.stacks() if stack.name != BOOTSTRAP]

    def deploy(self) -> None:
        """Synthesize, apply every stack, then roll out (nothing to do on a first deploy)."""
        self.synth()
        self.apply()
        self.roll_out()

    def apply(self) -> None:
        """Apply `bootstrap` and every `local-*` stack into a fresh emulator."""
        stacks = self.stacks()
        self._forget_bootstrap_state(stacks[0])
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bootstrap") as background:
            runner = _BootstrapFirst(self, background, self._state_bucket(stacks))
            with Ticker(lambda: list(self._active.copy().values()), self._log):
                outcomes = run_in_order(stacks, runner.action, max_parallel=self.max_parallel,
                                        cancelled=self.cancelled)
                runner.finish(outcomes)
        self._raise_for(outcomes, stacks)
        self._log(f"deployed {len(stacks)} stacks in {time.monotonic() - started:.0f} s")

    def reapply(self) -> None:
        """Apply the `local-*` stacks that changed into the emulator they were deployed to (a
        redeploy of changed code): a stack whose synthesized configuration is the one it was
        last applied from, and whose upstream stacks' outputs did not change in this run, is
        skipped (`localmode.applied`); `bootstrap` and its state stay as they are."""
        stacks = [replace(stack, dependencies=tuple(d for d in stack.dependencies if d != BOOTSTRAP))
                  for stack in self.stacks() if stack.name != BOOTSTRAP]
        changed_outputs: set[str] = set()

        def apply_if_changed(stack: Stack) -> StackProgress | None:
            record = self.records.get(stack)
            reason = skip_reason(configuration_digest(stack, self.endpoint), record,
                                 [d for d in stack.dependencies if d in changed_outputs])
            if reason is not None:
                self._log(f"{stack.name}: skipped, {reason}")
                return None
            before = self.records.outputs_digest(stack)
            progress = self.apply_stack(stack)
            if self.records.outputs_digest(stack) != before:
                changed_outputs.add(stack.name)
            return progress

        started = time.monotonic()
        with Ticker(lambda: list(self._active.copy().values()), self._log):
            outcomes = run_in_order(stacks, apply_if_changed, max_parallel=self.max_parallel,
                                    cancelled=self.cancelled)
        self._raise_for(outcomes, stacks)
        applied = sum(1 for outcome in outcomes.values() if outcome.result is not None)
        self._log(f"applied {applied} of {len(stacks)} stacks in {time.monotonic() - started:.0f} s")

    def roll_out(self) -> int:
        """`make rollout` for `local`: CodeDeploy moves every `live` alias whose function has a
        newer published version (through the pre-traffic hook); the exit code of the rollout
        (0 shifted or nothing to do, 1 rolled back)."""
        from delivery.rollout import RolloutError, rollout
        from modules.config import settings_for

        settings = settings_for(WORKSPACE, {**os.environ, "EMULATOR_ENDPOINT": self.endpoint})
        try:
            return rollout(settings, self._log)
        except RolloutError as err:
            raise DeployError(f"rollout: {err}") from None

    def apply_stack(self, stack: Stack, on_event: Callable[[Event], None] | None = None) -> StackProgress:
        """`terraform init` + `terraform apply -auto-approve -json` of one stack, with progress;
        then the record of what it was applied from (what `reapply` skips on)."""
        progress = self._run(stack, "apply", on_event)
        self.records.put(stack, configuration_digest(stack, self.endpoint))
        return progress

    def _run(self, stack: Stack, verb: str, on_event: Callable[[Event], None] | None = None) -> StackProgress:
        progress = StackProgress(stack.name, verb)
        self._log(progress.start_line())
        self._active[stack.name] = progress
        try:
            self._init(stack)

            def on_line(event: Event) -> None:
                progress.on_event(event)
                if on_event is not None:
                    on_event(event)

            result = self.terraform.stream(
                stack.directory, verb, "-auto-approve", "-input=false", "-lock-timeout=60s",
                f"-parallelism={TERRAFORM_PARALLELISM}", on_event=on_line, check=False,
                timeout=APPLY_TIMEOUT_SECONDS, cancelled=self.cancelled)
        except TerraformCancelled as err:
            raise DeployCancelled(f"{stack.name}: {verb} stopped") from err
        except TerraformError as err:
            raise DeployError(f"{stack.name}: {err}") from err
        finally:
            progress.finished = True
            self._active.pop(stack.name, None)
        if result.returncode != 0:
            raise DeployError(progress.failure_text(result.stderr))
        self._log(progress.end_line())
        return progress

    def _init(self, stack: Stack) -> None:
        try:
            self.terraform.init(stack.directory, reconfigure=True, cancelled=self.cancelled)
        except TerraformCancelled:
            raise
        except TerraformError as err:
            raise DeployError(f"{stack.name}: terraform init failed:\n{err}") from err

    def _state_bucket(self, stacks: list[Stack]) -> str | None:
        for stack in stacks:
            backend = _stack_json(stack).get("terraform", {}).get("backend", {})
            if "s3" in backend:
                return str(backend["s3"]["bucket"])
        return None

    def _forget_bootstrap_state(self, bootstrap: Stack) -> None:
        # Local mode deploys into a fresh emulator: a `bootstrap` state file left by an
        # earlier run describes resources that no longer exist.
        path = bootstrap_state_file(bootstrap)
        if path is not None:
            path.unlink(missing_ok=True)

    def _raise_for(self, outcomes: Mapping[str, Outcome[Any]], stacks: list[Stack]) -> None:
        if self.cancelled.is_set():
            raise DeployCancelled("deploy stopped")
        failed = [outcome for outcome in outcomes.values() if outcome.error is not None]
        waiting = [f"{o.stack.name} (waits on {o.waits_on})" for o in outcomes.values() if o.waits_on]
        if failed:
            message = "\n".join(str(outcome.error) for outcome in failed)
            if waiting:
                message += f"\nnot started: {', '.join(waiting)}"
            raise DeployError(message)
        missing = [stack.name for stack in stacks if stack.name not in outcomes]
        if missing:
            raise DeployError(f"not deployed: {', '.join(missing)}")

    # --- destroy, re-plan, outputs ---------------------------------------------------------

    def destroy(self) -> None:
        """Destroy every `local-*` stack, dependents first. The state bucket (`bootstrap`)
        stays until the emulator stops, which discards it."""
        stacks = [stack for stack in self.stacks() if stack.name != BOOTSTRAP]
        reverse = [Stack(stack.name, stack.directory,
                         tuple(other.name for other in stacks if stack.name in other.dependencies))
                   for stack in reversed(stacks)]
        with Ticker(lambda: list(self._active.copy().values()), self._log):
            outcomes = run_in_order(reverse, lambda stack: self._run(stack, "destroy"),
                                    max_parallel=self.max_parallel, cancelled=self.cancelled)
        self._raise_for(outcomes, reverse)

    def replan_exit_codes(self, names: Collection[str] | None = None) -> dict[str, int]:
        """`terraform plan -detailed-exitcode` per local stack (or those of `names`): 0 means no changes."""
        def plan(directory: Path) -> int:
            if not (directory / ".terraform").exists():  # a synth output nothing was applied from yet
                self.terraform.init(directory, reconfigure=True, cancelled=self.cancelled)
            result = self.terraform.run(directory, "plan", "-detailed-exitcode", "-input=false", "-no-color",
                                        "-lock-timeout=60s", check=False, cancelled=self.cancelled)
            if result.returncode != 0:
                self._log(f"{directory.name}: plan exit {result.returncode}\n"
                          f"{result.stdout[-4000:]}{result.stderr[-2000:]}")
            return result.returncode

        directories = [d for d in self.stack_dirs() if names is None or d.name in names]
        with ThreadPoolExecutor(max_workers=self.max_parallel) as pool:
            codes = list(pool.map(plan, directories))
        return {directory.name: code for directory, code in zip(directories, codes, strict=True)}

    def outputs(self, stack: str) -> dict[str, object]:
        """Terraform outputs of one deployed stack (sensitive values included)."""
        result = self.terraform.run(self.outdir / "stacks" / stack, "output", "-json", "-no-color")
        return {name: value["value"] for name, value in json.loads(result.stdout).items()}


class _BootstrapFirst:
    """The `run_in_order` action: `bootstrap` counts as done for its dependents once its state
    bucket exists (its apply goes on in the background); every other stack is applied whole."""

    def __init__(self, deployer: LocalDeployer, background: ThreadPoolExecutor, bucket: str | None) -> None:
        self.deployer, self.background, self.bucket = deployer, background, bucket
        self.rest: Future[StackProgress] | None = None

    def action(self, stack: Stack) -> StackProgress | None:
        if stack.name != BOOTSTRAP or self.bucket is None:
            return self.deployer.apply_stack(stack)
        ready = threading.Event()

        def on_event(event: Event) -> None:
            hook = event.get("hook") or {}
            if (event.get("type") == "apply_complete" and hook.get("id_value") == self.bucket
                    and (hook.get("resource") or {}).get("resource_type") == "aws_s3_bucket"):
                ready.set()

        self.rest = self.background.submit(self.deployer.apply_stack, stack, on_event)
        while not ready.wait(0.2):
            if self.rest.done():
                return self.rest.result()  # finished (or failed) before the bucket was reported
        self.deployer._log(f"{BOOTSTRAP}: state bucket {self.bucket} ready, the local stacks start")
        return None

    def finish(self, outcomes: dict[str, Outcome[StackProgress | None]]) -> None:
        """Wait for the rest of `bootstrap`; its failure becomes its outcome."""
        if self.rest is None or BOOTSTRAP not in outcomes:
            return
        try:
            self.rest.result()
        except BaseException as err:  # recorded like any stack failure
            outcomes[BOOTSTRAP] = Outcome(outcomes[BOOTSTRAP].stack, error=err)


def bootstrap_state_file(bootstrap: Stack) -> Path | None:
    """Where `bootstrap` keeps its local state (None when its backend is not local)."""
    path = _stack_json(bootstrap).get("terraform", {}).get("backend", {}).get("local", {}).get("path")
    return (bootstrap.directory / path).resolve() if path else None


def _stack_json(stack: Stack) -> dict[str, dict[str, dict[str, dict[str, str]]]]:
    document: dict[str, dict[str, dict[str, dict[str, str]]]] = json.loads(
        (stack.directory / "cdk.tf.json").read_text())
    return document
