"""Run the real Terraform CLI on synthesized stacks (tests, local mode, CI tools).

Where Terraform gets the AWS provider: from the filesystem mirror named by
`TF_PROVIDER_MIRROR`, or, when that is unset, the one `scripts/find-provider-mirror`
finds on this machine (so running pytest directly works like `make test`). With a
mirror, the harness writes a CLI configuration into its own temporary directory and
points `TF_CLI_CONFIG_FILE` at it for its subprocesses only; the user's own CLI
configuration is never read or changed. Without one, Terraform downloads the provider
as usual.

The provider plugin cache is a temporary directory unless `plugin_cache` names a
persistent one (plan review: many stacks, many runs, one installed provider). Terraform
does not promise that concurrent `init`s may share a cache, so `init` holds a lock: one
install at a time per harness, everything else (plan, show, apply) runs in parallel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

MIRROR_VARIABLE = "TF_PROVIDER_MIRROR"
FIND_MIRROR = Path(__file__).resolve().parents[1] / "scripts" / "find-provider-mirror"


def provider_mirror() -> str | None:
    """`TF_PROVIDER_MIRROR`, else the mirror found on this machine, else None (use the registry)."""
    configured = os.environ.get(MIRROR_VARIABLE)
    if configured:
        return configured
    found = subprocess.run([str(FIND_MIRROR)], capture_output=True, text=True, check=False, timeout=60)
    return found.stdout.strip() or None


class TerraformError(RuntimeError):
    """A Terraform command failed; the message carries its output."""


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
        self._init_lock = threading.Lock()
        self.env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", **(extra_env or {})}
        cache = Path(plugin_cache).resolve() if plugin_cache else Path(self._workdir.name, "plugin-cache")
        cache.mkdir(parents=True, exist_ok=True)
        mirror = mirror if mirror is not None else provider_mirror()
        if mirror:
            if not Path(mirror).is_dir():
                raise TerraformError(f"{MIRROR_VARIABLE}={mirror!r} is not a directory")
            config = Path(self._workdir.name, "terraform.tfrc")
            config.write_text(cli_config(mirror, str(cache)))
            self.env["TF_CLI_CONFIG_FILE"] = str(config)
        elif plugin_cache:
            self.env["TF_PLUGIN_CACHE_DIR"] = str(cache)

    def close(self) -> None:
        self._workdir.cleanup()

    def run(self, stack_dir: str | Path, *args: str, check: bool = True, timeout: int = 900) -> TerraformResult:
        """Run `terraform <args>` in a stack directory."""
        assert self.binary is not None
        proc = subprocess.run([self.binary, *args], cwd=stack_dir, env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)
        result = TerraformResult(proc.returncode, proc.stdout, proc.stderr)
        if check and proc.returncode != 0:
            raise TerraformError(f"terraform {' '.join(args)} failed in {stack_dir}:\n{proc.stdout}\n{proc.stderr}")
        return result

    def init(self, stack_dir: str | Path, backend: bool = True, check: bool = True) -> TerraformResult:
        args = ["init", "-input=false", "-no-color"]
        if not backend:
            args.append("-backend=false")
        with self._init_lock:
            return self.run(stack_dir, *args, check=check)

    def validate(self, stack_dir: str | Path) -> TerraformResult:
        """`terraform init -backend=false` then `terraform validate`."""
        self.init(stack_dir, backend=False)
        return self.run(stack_dir, "validate", "-no-color")
