"""The warm start (docs/local-mode.md, "Warm start"): a stop saves the served deployment into a
directory (every moto backend, `bootstrap`'s local state file, a manifest of the synthesized stacks
and the emulator they were saved from); the next start restores it when both are unchanged, and
otherwise names the reason and deploys. Snapshots rather than moto's request recorder: a replay
re-runs every request and reproduces Terraform's identifiers only if moto's random draws come in the
recorded order, which Terraform's parallel requests do not keep.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import moto

from delivery.stacks import BOOTSTRAP, Stack
from localmode import codedeploy, stream_mapping
from localmode.applied import AppliedRecords, backend_of, configuration_digest
from localmode.moto_patches import server as moto_server
from localmode.moto_patches import snapshot

if TYPE_CHECKING:
    from localmode.deploy import LocalDeployer

FORMAT = 1
QUIESCE_SECONDS = 10  # for running CodeDeploy deployments and stream deliveries to finish before a save
MANIFEST, BACKENDS, BOOTSTRAP_STATE = "manifest.json", "backends.pickle", "bootstrap.tfstate"
_PATCHES = Path(snapshot.__file__).resolve().parent


def emulator_version() -> dict[str, str]:
    """What restored objects depend on besides the stacks: a difference in any of these falls back."""
    sources = hashlib.sha256()
    for path in sorted(_PATCHES.glob("*.py")):
        sources.update(path.name.encode() + b"\0" + path.read_bytes())
    return {"format": str(FORMAT), "moto": moto.__version__, "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
            "moto patches": sources.hexdigest()[:16]}


@dataclass
class WarmStart:
    """The snapshot in ``directory`` of the deployment of ``stacks`` (`bootstrap` first)."""

    directory: Path
    stacks: list[Stack]
    bootstrap_state: Path | None  # bootstrap's local state file
    endpoint: str  # the emulator's, as the stacks were synthesized with it

    @classmethod
    def of(cls, directory: Path, deployer: LocalDeployer) -> WarmStart:
        """The saved deployment in `directory` of the stacks `deployer` has synthesized."""
        from localmode.deploy import bootstrap_state_file

        stacks = deployer.stacks()
        bootstrap = next((stack for stack in stacks if stack.name == BOOTSTRAP), None)
        return cls(directory, stacks, bootstrap_state_file(bootstrap) if bootstrap else None, deployer.endpoint)

    def _stack_digests(self) -> dict[str, str]:
        return {stack.name: configuration_digest(stack, self.endpoint) for stack in self.stacks}

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    # --- restore ------------------------------------------------------------------------------

    def restore(self, log: Callable[[str], None]) -> bool:
        """Restore the saved deployment into the running emulator (moto reset first); False, after a
        line saying why, when it cannot be (moto is then empty and the caller deploys)."""
        started = time.monotonic()
        reason = self._why_not_restorable()
        if reason is None:
            try:
                count = snapshot.restore((self.directory / BACKENDS).read_bytes())
                self._restore_bootstrap_state()
            except (snapshot.SnapshotError, OSError) as err:
                moto_server.reset()  # never a half-restored emulator
                reason = f"the saved deployment cannot be restored: {err}"
        if reason is not None:
            log(f"warm start: not possible, {reason}; deploying")
            self.discard()
            return False
        saved_at = json.loads((self.directory / MANIFEST).read_text()).get("saved_at", "?")
        log(f"warm start: restored the deployment saved at {saved_at} ({count} service backends) "
            f"in {time.monotonic() - started:.1f} s; `make up FRESH=1` starts empty")
        return True

    def _why_not_restorable(self) -> str | None:
        manifest_path = self.directory / MANIFEST
        if not manifest_path.exists():
            return "no saved deployment (the first start, `make clean-local` or FRESH=1)"
        try:
            manifest: dict[str, Any] = json.loads(manifest_path.read_text())
            saved_emulator, saved_stacks = manifest["emulator"], manifest["stacks"]
            expected_sha, data = manifest["backends_sha256"], (self.directory / BACKENDS).read_bytes()
        except (OSError, ValueError, KeyError, TypeError) as err:
            return f"the saved deployment is unreadable ({type(err).__name__}: {err})"
        changed = [f"{key} {saved_emulator.get(key)} -> {value}" for key, value in emulator_version().items()
                   if saved_emulator.get(key) != value]
        if changed:
            return f"the emulator changed since the deployment was saved ({', '.join(changed)})"
        current = self._stack_digests()
        differ = sorted(name for name in set(current) | set(saved_stacks)
                        if current.get(name) != saved_stacks.get(name))
        if differ:
            return f"the synthesized stacks changed since the deployment was saved ({', '.join(differ)})"
        if hashlib.sha256(data).hexdigest() != expected_sha:
            return f"the saved deployment is corrupt ({BACKENDS} does not match its checksum)"
        if self.bootstrap_state is not None and not (self.directory / BOOTSTRAP_STATE).exists():
            return f"the saved deployment is incomplete ({BOOTSTRAP_STATE} is missing)"
        return None

    def _restore_bootstrap_state(self) -> None:
        if self.bootstrap_state is not None:
            self.bootstrap_state.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.directory / BOOTSTRAP_STATE, self.bootstrap_state)

    # --- save ---------------------------------------------------------------------------------

    def save(self, records: AppliedRecords, log: Callable[[str], None]) -> bool:
        """Save the running emulator's deployment (see the module docstring for when it is not)."""
        started = time.monotonic()
        reason = self._why_not_savable(records)
        data = b""
        if reason is None:
            try:
                data = snapshot.capture()
            except snapshot.SnapshotError as err:
                reason = str(err)
        if reason is not None:
            self.discard()
            log(f"warm start: deployment not saved, {reason}; the next `make up` deploys")
            return False
        staging = self.directory.with_name(self.directory.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        (staging / BACKENDS).write_bytes(data)
        if self.bootstrap_state is not None and self.bootstrap_state.exists():
            shutil.copyfile(self.bootstrap_state, staging / BOOTSTRAP_STATE)
        manifest = {"format": FORMAT, "saved_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                    "emulator": emulator_version(), "stacks": self._stack_digests(),
                    "backends_sha256": hashlib.sha256(data).hexdigest()}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")  # last: it makes the rest count
        self.discard()
        staging.rename(self.directory)
        log(f"warm start: deployment saved ({len(data) / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s; "
            "the next `make up` restores it")
        return True

    def _why_not_savable(self, records: AppliedRecords) -> str | None:
        # Saved work in flight would never finish after a restore: let it finish first.
        if not codedeploy.wait_idle(QUIESCE_SECONDS):
            return f"a CodeDeploy deployment was still running after {QUIESCE_SECONDS} s"
        if not stream_mapping.wait_idle(QUIESCE_SECONDS):
            return f"table stream records were still being delivered after {QUIESCE_SECONDS} s"
        for stack in self.stacks:
            if stack.name == BOOTSTRAP or backend_of(stack) is None:
                continue
            if not records.has_resources(stack):
                return f"{stack.name} has no resources (destroyed, or never applied)"
            record = records.get(stack)
            if record is not None and record.get("configuration") != configuration_digest(stack, self.endpoint):
                return f"{stack.name} was last applied from another synth (a redeploy that did not finish)"
        return None
