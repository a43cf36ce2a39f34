"""Read access to a synthesized cdktf output directory, for assertions."""

from __future__ import annotations

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


def policy(document: str) -> dict[str, Any]:
    """Parse a policy JSON string from a resource."""
    return json.loads(document)
