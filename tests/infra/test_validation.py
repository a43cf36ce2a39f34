"""The session's one `terraform validate` of every stack (tests/infra/validation.py) judges each
stack as its own validate would: a broken stack fails, with the problem named, while an intact
one beside it passes; a stack that a rule for root modules only could catch is validated as a root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.infra.validation import needs_own_root, validate_together


def copy_stack(source: Path, target: Path, edit=None) -> Path:
    document = json.loads((source / "cdk.tf.json").read_text())
    if edit is not None:
        edit(document)
    target.mkdir(parents=True)
    (target / "cdk.tf.json").write_text(json.dumps(document))
    return target


def unknown_argument(document: dict) -> None:
    resources = next(iter(document["resource"].values()))
    next(iter(resources.values()))["not_an_argument"] = "x"


def sensitive_output_not_marked(document: dict) -> None:
    # Terraform requires a root module's output of a sensitive value to be marked sensitive.
    document["variable"] = {"secret": {"type": "string", "sensitive": True, "default": "s3cr3t"}}
    document["output"]["leaked"] = {"value": "${var.secret}"}


@pytest.mark.terraform
def test_a_broken_stack_fails_beside_an_intact_one(synth, terraform, tmp_path):
    source = synth.stacks_dir / "local-security"
    modules = {"intact": copy_stack(source, tmp_path / "stacks" / "intact"),
               "unknown-argument": copy_stack(source, tmp_path / "stacks" / "unknown-argument", unknown_argument),
               "leaks": copy_stack(source, tmp_path / "stacks" / "leaks", sensitive_output_not_marked)}
    assert [needs_own_root(stack_dir) for stack_dir in modules.values()] == [False, False, True]
    assert not [name for name in synth.stack_names() if needs_own_root(synth.stacks_dir / name)]
    validation = validate_together(terraform, tmp_path / "wrapper", modules)
    assert validation.problems("intact") == []
    assert validation.unattributed() == []
    (problem,) = validation.problems("unknown-argument")
    assert problem.startswith("error: Extraneous JSON object property") and "not_an_argument" in problem
    (problem,) = validation.problems("leaks")
    assert problem.startswith("error: Output refers to sensitive values")
