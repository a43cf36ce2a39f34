"""Read access to a synthesized cdktf output directory, for assertions."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Synthesized:
    """The stacks of one synth, loaded once; lookups by construct path, not hashed ids."""

    outdir: Path
    _cache: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def stacks_dir(self) -> Path:
        return self.outdir / "stacks"

    def stack_names(self) -> list[str]:
        return sorted(p.name for p in self.stacks_dir.iterdir() if (p / "cdk.tf.json").is_file())

    def stack(self, name: str) -> dict[str, Any]:
        if name not in self._cache:
            self._cache[name] = json.loads((self.stacks_dir / name / "cdk.tf.json").read_text())
        return self._cache[name]

    def resources(self, stack: str, rtype: str) -> dict[str, dict[str, Any]]:
        """Resources of one type keyed by construct path below the stack (e.g. `data/table`)."""
        found = self.stack(stack).get("resource", {}).get(rtype, {})
        return {config["//"]["metadata"]["path"].split("/", 1)[1]: config for config in found.values()}

    def resource(self, stack: str, rtype: str, path: str) -> dict[str, Any]:
        """The one resource of a type whose construct path is `path` (or ends with `/path`)."""
        matches = [cfg for p, cfg in self.resources(stack, rtype).items() if p == path or p.endswith("/" + path)]
        assert len(matches) == 1, f"{stack}: expected one {rtype} at {path}, found {len(matches)}"
        return matches[0]

    def count(self, stack: str, rtype: str) -> int:
        return len(self.resources(stack, rtype))


def copied_stacks(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """Every stack of a synth as a deep copy, for a rule to read or a test to break."""
    return {name: copy.deepcopy(synth.stack(name)) for name in synth.stack_names()}


def policy(document: str) -> dict[str, Any]:
    """Parse a policy JSON string from a resource."""
    return json.loads(document)


# --- how synthesized stacks refer to resources (Terraform expressions) ----------------------

def unique_id(synth: Synthesized, stack: str, rtype: str, path: str) -> str:
    """The logical id cdktf gave the resource at construct path `path`."""
    return str(synth.resource(stack, rtype, path)["//"]["metadata"]["uniqueId"])


def ref(synth: Synthesized, stack: str, rtype: str, path: str, attribute: str) -> str:
    """The Terraform reference, inside its own stack, to an attribute of the resource at `path`."""
    return f"${{{rtype}.{unique_id(synth, stack, rtype, path)}.{attribute}}}"


def remote_ref(synth: Synthesized, workspace: str, layer: str, rtype: str, path: str, attribute: str) -> str:
    """How another stack of `workspace` refers to an attribute of a resource in `layer`: a
    remote-state output, which that layer's stack really exports from that resource."""
    output = f"cross-stack-output-{rtype}{unique_id(synth, f'{workspace}-{layer}', rtype, path)}{attribute}"
    exported = synth.stack(f"{workspace}-{layer}")["output"][output]["value"]
    assert exported == ref(synth, f"{workspace}-{layer}", rtype, path, attribute)
    return f"${{data.terraform_remote_state.cross-stack-reference-input-{workspace}-{layer}.outputs.{output}}}"


def security_key_ref(synth: Synthesized, workspace: str) -> str:
    """How the other layers of `workspace` refer to the security layer's key ARN."""
    return remote_ref(synth, workspace, "security", "aws_kms_key", "security/key", "arn")


def fn(synth: Synthesized, workspace: str, name: str, rtype: str = "aws_lambda_function",
       part: str = "function") -> dict[str, Any]:
    """A resource of one function in the app stack (the function itself by default)."""
    return synth.resource(f"{workspace}-app", rtype, f"{name.replace('-', '_')}/{part}")
