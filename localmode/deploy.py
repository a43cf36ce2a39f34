"""Deploy and destroy the `local` workspace with the cdktf CLI and real Terraform.

`bootstrap` (the state bucket, in the emulator) goes first, then every `local-*` stack in
dependency order; remote state lives in the emulator's S3 with S3-native locking. The
Terraform CLI configuration for a provider mirror comes from `devtools.terraform`
(`TF_PROVIDER_MIRROR`), set for the cdktf subprocess only.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from devtools.terraform import Terraform

ROOT = Path(__file__).resolve().parent.parent
CDKTF = ROOT / "node_modules" / ".bin" / "cdktf"
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
COMMAND_TIMEOUT_SECONDS = 1200  # a whole workspace deploys in about 5 minutes here


class DeployError(RuntimeError):
    """A cdktf or Terraform command failed; the message carries the tail of its output."""


class LocalDeployer:
    """Runs `cdktf deploy/destroy` for the local workspace against one emulator endpoint."""

    # Its own output directory, so `cdktf.out/` keeps the synth of every workspace.
    def __init__(self, endpoint: str, outdir: Path = ROOT / ".local" / "cdktf.out",
                 log: Callable[[str], None] = print) -> None:
        self.endpoint = endpoint
        self.outdir = outdir
        outdir.mkdir(parents=True, exist_ok=True)  # cdktf creates only the last level
        self._log = log
        self.terraform = Terraform(extra_env={
            **EMULATOR_CREDENTIALS,
            "WORKSPACES": "local",
            "EMULATOR_ENDPOINT": endpoint,
            "CDKTF_OUTDIR": str(outdir),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "CDKTF_DISABLE_TELEMETRY": "true",
        })

    def close(self) -> None:
        self.terraform.close()

    def _cdktf(self, *args: str) -> None:
        if not CDKTF.exists():
            raise DeployError(f"{CDKTF} is missing: run `make install` (npm ci)")
        started = time.monotonic()
        # --skip-provider-lock: `terraform init` already locks the provider it installed;
        # cdktf's extra `terraform providers lock` would ask the registry, which a machine
        # using a provider mirror cannot reach.
        command = [str(CDKTF), *args, "--skip-provider-lock", "--output", str(self.outdir)]
        try:
            proc = subprocess.run(command, cwd=ROOT, env=self.terraform.env, capture_output=True, text=True,
                                  check=False, timeout=COMMAND_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as err:
            raise DeployError(f"cdktf {' '.join(args)} took longer than {COMMAND_TIMEOUT_SECONDS} s") from err
        if proc.returncode != 0:
            raise DeployError(f"cdktf {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}")
        self._log(f"cdktf {' '.join(args)}: done in {time.monotonic() - started:.0f} s")

    def deploy(self) -> None:
        """Synthesize once, then deploy `bootstrap` and every `local-*` stack."""
        self._cdktf("deploy", "bootstrap", "--auto-approve")
        self._cdktf("deploy", "local-*", "--auto-approve", "--skip-synth")

    def destroy(self) -> None:
        """Destroy every `local-*` stack. The state bucket (`bootstrap`) stays until the
        emulator stops, which discards it: emptying a bucket that holds versioned state
        files hangs in the emulator, and the next `make up` recreates it from scratch."""
        self._cdktf("destroy", "local-*", "--auto-approve")

    def stack_dirs(self) -> list[Path]:
        return sorted(p for p in (self.outdir / "stacks").glob("local-*") if p.is_dir())

    def replan_exit_codes(self) -> dict[str, int]:
        """`terraform plan -detailed-exitcode` per local stack: 0 means no changes."""
        codes = {}
        for stack in self.stack_dirs():
            result = self.terraform.run(stack, "plan", "-detailed-exitcode", "-input=false", "-no-color",
                                        "-lock-timeout=60s", check=False)
            codes[stack.name] = result.returncode
            if result.returncode != 0:
                self._log(f"{stack.name}: plan exit {result.returncode}\n"
                          f"{result.stdout[-4000:]}{result.stderr[-2000:]}")
        return codes

    def outputs(self, stack: str) -> dict[str, object]:
        """Terraform outputs of one deployed stack (sensitive values included)."""
        result = self.terraform.run(self.outdir / "stacks" / stack, "output", "-json", "-no-color")
        return {name: value["value"] for name, value in json.loads(result.stdout).items()}


def environment_endpoint() -> str:
    return os.environ.get("EMULATOR_ENDPOINT", "http://127.0.0.1:4566")
