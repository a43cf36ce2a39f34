"""Every patch of moto local mode applies, by name (the table of ``docs/local-mode.md``)."""

from __future__ import annotations

from localmode.moto_patches import codedeploy, lambda_, server, snapshot, stepfunctions
from localmode.moto_patches.patch import MOTO_VERSION, Patch

REGISTRY: dict[str, Patch] = {patch.name: patch
                              for module in (lambda_, codedeploy, stepfunctions, server, snapshot)
                              for patch in module.PATCHES}


def markdown_table() -> str:
    """The registry as the Markdown table of the docs (one row per patch)."""
    rows = ["| Patch | moto symbol | Kind | Why | moto |", "| --- | --- | --- | --- | --- |"]
    rows += [f"| `{patch.name}` | `{patch.symbol}` | {patch.kind} | {patch.why} | {MOTO_VERSION} |"
             for patch in REGISTRY.values()]
    return "\n".join(rows)
