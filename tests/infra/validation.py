"""`terraform validate` of many stacks in one run.

A validate costs about 5 CPU-seconds whatever the stack's size, plus 2 for its init: each run
starts the AWS provider and decodes its whole schema. The session's stacks (REST and HTTP kinds,
29 of them) are therefore validated together: a generated configuration calls every stack as a
child module, and one `init -backend=false` and one `validate -json` check them all (about 20
CPU-seconds instead of 200). Every diagnostic names the file it is about, so each stack still
gets its own verdict.

A child module is checked as its own root would be, except for what Terraform checks in root
modules only, and those rules are about values validate knows to be sensitive or ephemeral (an
output of one must say so) and about `import` blocks. Validate knows such a value only from a
variable, the `sensitive()` function or something ephemeral; a stack that declares any of these
is validated on its own, as a root. The one diagnostic the wrapper itself causes, "Backend
configuration ignored" (a backend applies to a root module only), is set aside.
tests/infra/test_validation.py shows a broken stack of either kind failing beside an intact one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from delivery.terraform import Terraform

WRAPPER_ONLY_WARNING = "Backend configuration ignored"
ROOT_ONLY_BLOCKS = ("variable", "import", "ephemeral")
ROOT_ONLY_MARKERS = ("sensitive(", "ephemeral")


@dataclass
class Validation:
    """The verdicts of one validation of the stacks in `modules` (module name -> stack dir)."""

    modules: dict[str, Path]
    diagnostics: dict[str | None, list[str]] = field(default_factory=dict)  # None: about no stack

    def problems(self, module: str) -> list[str]:
        """Every error and warning about this stack, as `severity: summary (file:line): detail`."""
        return self.diagnostics.get(module, [])

    def unattributed(self) -> list[str]:
        """Diagnostics about no stack in particular (the wrapper itself, the provider)."""
        return self.diagnostics.get(None, [])


def describe(diagnostic: dict[str, Any]) -> str:
    where = diagnostic.get("range", {})
    line = where.get("start", {}).get("line", "?")
    return (f"{diagnostic['severity']}: {diagnostic['summary']} ({where.get('filename', '-')}:{line}): "
            f"{diagnostic.get('detail', '')}")


def needs_own_root(stack_dir: Path) -> bool:
    """Whether Terraform would check this stack differently as a child module (module docstring)."""
    text = (stack_dir / "cdk.tf.json").read_text()
    document = json.loads(text)
    return any(block in document for block in ROOT_ONLY_BLOCKS) or any(m in text for m in ROOT_ONLY_MARKERS)


def write_wrapper(wrapper: Path, modules: dict[str, Path]) -> None:
    """One `<module>.tf.json` per stack, calling it."""
    wrapper.mkdir(parents=True, exist_ok=True)
    for module, stack_dir in modules.items():
        source = os.path.relpath(stack_dir, wrapper)  # a local module source starts with ./ or ../
        document = {"module": {module: {"source": source if source.startswith("../") else f"./{source}"}}}
        (wrapper / f"{module}.tf.json").write_text(json.dumps(document, indent=2))


def validate_json(terraform: Terraform, directory: Path) -> list[dict[str, Any]]:
    """`init -backend=false` then `validate -json` in `directory`: the diagnostics."""
    result = terraform.validate(directory)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as err:
        raise AssertionError(f"terraform validate -json in {directory} gave no report (exit {result.returncode}):\n"
                             f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}") from err
    if not report["valid"] and not report["diagnostics"]:
        raise AssertionError(f"terraform validate in {directory}: invalid without a diagnostic:\n{result.stdout}")
    return list(report["diagnostics"])


def owner(wrapper: Path, modules: dict[str, Path], diagnostic: dict[str, Any]) -> str | None:
    filename = diagnostic.get("range", {}).get("filename")
    if not filename:
        return None
    file = (wrapper / filename).resolve()
    return next((module for module, stack_dir in modules.items()
                 if file == wrapper / f"{module}.tf.json" or file.is_relative_to(stack_dir.resolve())), None)


def validate_together(terraform: Terraform, wrapper: Path, modules: dict[str, Path]) -> Validation:
    """Validate the stacks in `modules`: as child modules of a configuration written to `wrapper`,
    or on their own where a child would be checked differently."""
    validation = Validation(modules)

    def add(module: str | None, diagnostic: dict[str, Any]) -> None:
        validation.diagnostics.setdefault(module, []).append(describe(diagnostic))

    alone = {module: stack_dir for module, stack_dir in modules.items() if needs_own_root(stack_dir)}
    wrapped = {module: stack_dir for module, stack_dir in modules.items() if module not in alone}
    if wrapped:
        write_wrapper(wrapper, wrapped)
        wrapper = wrapper.resolve()
        for diagnostic in validate_json(terraform, wrapper):
            if not (diagnostic["severity"] == "warning" and diagnostic["summary"] == WRAPPER_ONLY_WARNING):
                add(owner(wrapper, wrapped, diagnostic), diagnostic)
    for module, stack_dir in alone.items():
        for diagnostic in validate_json(terraform, stack_dir):
            add(module, diagnostic)
    return validation
