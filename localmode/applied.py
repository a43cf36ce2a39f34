"""Which local stacks a redeploy may skip (`make redeploy-local`).

After every successful apply, a record of what the stack was applied from (the SHA-256 of its
synthesized `cdk.tf.json`, which names its assets by content hash; the emulator's endpoint left
out) is written next to its state in the emulator's state bucket (`<state key>.applied.json`).
A redeploy skips a stack whose configuration is the one recorded and none of whose upstream
stacks changed their outputs in this run (their state's outputs compared before and after their
apply); everything else is applied. Keeping the record in the emulator ties it to that deployment: a fresh emulator has
none, so everything is applied, and the hotswap (`make watch`), which changes function code
behind Terraform's back, deletes the app layer's record so the next redeploy reconciles it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from delivery.stacks import Stack

RECORD_SUFFIX = ".applied.json"


def configuration_digest(stack: Stack, endpoint: str) -> str:
    """SHA-256 of the stack's synthesized JSON with the emulator's endpoint left out: the endpoint is
    where Terraform reaches the emulator (another EMULATOR_ENDPOINT port), not what it deploys."""
    document = (stack.directory / "cdk.tf.json").read_bytes().replace(endpoint.encode(), b"<emulator endpoint>")
    return hashlib.sha256(document).hexdigest()


def backend_of(stack: Stack) -> tuple[str, str] | None:
    """(bucket, state key) of a stack with S3 state; None for local state (`bootstrap`)."""
    document = json.loads((stack.directory / "cdk.tf.json").read_text())
    s3 = document.get("terraform", {}).get("backend", {}).get("s3")
    return (str(s3["bucket"]), str(s3["key"])) if s3 else None


def skip_reason(configuration: str, record: dict[str, str] | None, changed_upstream: list[str]) -> str | None:
    """Why the stack may be skipped, or None when it must be applied."""
    if record is None or record.get("configuration") != configuration:
        return None
    if changed_upstream:
        return None
    return "unchanged since its last apply, and so are its upstream stacks' outputs"


@dataclass
class AppliedRecords:
    """The records of one emulator's state bucket; `s3` is a client of that emulator."""

    s3: Any

    def get(self, stack: Stack) -> dict[str, str] | None:
        backend = backend_of(stack)
        if backend is None:
            return None
        try:
            body = self.s3.get_object(Bucket=backend[0], Key=backend[1] + RECORD_SUFFIX)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        record: dict[str, str] = json.loads(body)
        return record

    def state(self, stack: Stack) -> dict[str, Any]:
        """The stack's Terraform state ({} before its first apply, or for local state)."""
        backend = backend_of(stack)
        if backend is None:
            return {}
        try:
            body = self.s3.get_object(Bucket=backend[0], Key=backend[1])["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return {}
        state: dict[str, Any] = json.loads(body)
        return state

    def outputs_digest(self, stack: Stack) -> str:
        """SHA-256 of the outputs in the stack's state, as its dependents read them ("" before
        its first apply)."""
        state = self.state(stack)
        if not state:
            return ""
        outputs = state.get("outputs", {})
        return hashlib.sha256(json.dumps(outputs, sort_keys=True).encode()).hexdigest()

    def has_resources(self, stack: Stack) -> bool:
        """Whether the stack's state holds any resource (False once destroyed or before an apply)."""
        return bool(self.state(stack).get("resources"))

    def put(self, stack: Stack, configuration: str) -> None:
        backend = backend_of(stack)
        if backend is not None:
            self.s3.put_object(Bucket=backend[0], Key=backend[1] + RECORD_SUFFIX,
                               Body=json.dumps({"configuration": configuration}).encode())
