"""The architecture diagram in docs/ and README.md is what the code synthesizes today."""

from __future__ import annotations

import difflib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from devtools.architecture import ArchitectureError, read_architecture
from devtools.diagram import DIAGRAM_FILE, README_FILE, WORKSPACE, DiagramError, embed, render, stale
from modules.catalog import FUNCTIONS, dlq_names
from tests.infra.synthesized import Synthesized


def remote(producer: str, output: str) -> str:
    """How a dependent stack reads `output` of `producer` (as cdktf writes it)."""
    return f"${{data.terraform_remote_state.cross-stack-reference-input-{producer}.outputs.{output}}}"


def drawn(outdir: Path) -> str:
    return render(read_architecture(outdir, WORKSPACE))


def test_the_committed_diagram_is_the_one_the_code_synthesizes(synth: Synthesized) -> None:
    mermaid = drawn(synth.outdir)
    outdated = stale(mermaid)
    committed = DIAGRAM_FILE.read_text() if DIAGRAM_FILE.is_file() else ""
    diff = "".join(difflib.unified_diff(committed.splitlines(keepends=True), mermaid.splitlines(keepends=True),
                                        "committed", "synthesized"))
    assert outdated == [], f"the architecture diagram is out of date in {', '.join(outdated)}: " \
                           f"run `make diagram` and commit the result\n{diff}"


def test_the_readme_embeds_the_same_flowchart_as_the_file() -> None:
    readme = README_FILE.read_text()
    assert f"```mermaid\n{DIAGRAM_FILE.read_text()}```\n<!-- diagram:end -->" in readme


def test_the_diagram_draws_every_stack_and_every_manifest_dependency(synth: Synthesized) -> None:
    mermaid = drawn(synth.outdir)
    manifest = json.loads((synth.outdir / "manifest.json").read_text())["stacks"]
    stacks = [name for name in manifest if name == "bootstrap" or name.startswith(f"{WORKSPACE}-")]
    assert len(stacks) == 6  # bootstrap + security, network, data, app, observability
    for name in stacks:
        assert f'subgraph {name.replace("-", "_")}["{name}"]' in mermaid
        for upstream in manifest[name]["dependencies"]:
            assert re.search(rf'^  {upstream.replace("-", "_")} -->\|"[^"]+"\| {name.replace("-", "_")}$', mermaid,
                             re.MULTILINE), f"no labelled edge {upstream} -> {name}"
    assert f'"{synth.count(f"{WORKSPACE}-app", "aws_lambda_function")} × aws_lambda_function"' in mermaid
    assert f'"{synth.count(f"{WORKSPACE}-observability", "aws_cloudwatch_metric_alarm")} × aws_cloudwatch' in mermaid
    assert 'prod_security -->|"key: arn"| prod_data' in mermaid


# --- the diagram follows the synthesized JSON: altered copies give a different one ---------------

@pytest.fixture
def copy_of_synth(synth: Synthesized, tmp_path: Path) -> Path:
    """manifest.json and the drawn stacks' cdk.tf.json, to alter without touching the session synth."""
    shutil.copy(synth.outdir / "manifest.json", tmp_path / "manifest.json")
    for name in synth.stack_names():
        if name == "bootstrap" or name.startswith(f"{WORKSPACE}-"):
            (tmp_path / "stacks" / name).mkdir(parents=True)
            shutil.copy(synth.stacks_dir / name / "cdk.tf.json", tmp_path / "stacks" / name / "cdk.tf.json")
    return tmp_path


def edit(outdir: Path, stack: str, change: Any) -> None:
    path = outdir / "stacks" / stack / "cdk.tf.json"
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))


def test_an_unaltered_copy_gives_the_same_diagram(synth: Synthesized, copy_of_synth: Path) -> None:
    assert drawn(copy_of_synth) == drawn(synth.outdir)


def test_one_more_cross_stack_reference_changes_the_diagram(synth: Synthesized, copy_of_synth: Path) -> None:
    consumer, producer = f"{WORKSPACE}-observability", f"{WORKSPACE}-data"
    output = next(name for name in synth.stack(producer)["output"]
                  if name.startswith("cross-stack-output-aws_sns_topic"))
    assert output not in json.dumps(synth.stack(consumer))  # not read today

    def read_events_topic(document: dict[str, Any]) -> None:
        document["output"]["events_topic_arn_again"] = {"value": remote(producer, output)}

    edit(copy_of_synth, consumer, read_events_topic)
    before, after = drawn(synth.outdir), drawn(copy_of_synth)
    assert after != before
    queues = len(dlq_names())  # observability reads every dead-letter queue's name
    assert f'prod_data -->|"{queues} × dlq_*: name<br/>events_topic: arn<br/>table: name"| prod_observability' in after
    assert sorted(stale(after)) == sorted([str(DIAGRAM_FILE), str(README_FILE)])


def test_a_removed_resource_changes_the_diagram(synth: Synthesized, copy_of_synth: Path) -> None:
    def drop_one_function(document: dict[str, Any]) -> None:
        functions = document["resource"]["aws_lambda_function"]
        del functions[sorted(functions)[0]]

    edit(copy_of_synth, f"{WORKSPACE}-app", drop_one_function)
    after = drawn(copy_of_synth)
    count = len(FUNCTIONS)
    assert f"{count - 1} × aws_lambda_function" in after and f"{count} × aws_lambda_function" not in after
    assert stale(after) != []


def test_a_read_of_an_output_the_producer_does_not_export_is_an_error(copy_of_synth: Path) -> None:
    producer = f"{WORKSPACE}-security"

    def read_missing(document: dict[str, Any]) -> None:
        document["output"]["nowhere"] = {"value": remote(producer, "cross-stack-x")}

    edit(copy_of_synth, f"{WORKSPACE}-data", read_missing)
    with pytest.raises(ArchitectureError, match="cross-stack-x is not a resource attribute reference"):
        drawn(copy_of_synth)


# --- the flowchart is built to parse: ids, quoted labels, balanced subgraphs ---------------------

NODE_ID = r"[A-Za-z][A-Za-z0-9_]*"
LABEL = r'"[^"<>]*(?:<br/>[^"<>]*)*"'
LINE_FORMS = [
    re.compile(r"^flowchart LR$"),
    re.compile(r"^ *%% .*$"),
    re.compile(rf"^ *subgraph {NODE_ID}\[{LABEL}\]$"),
    re.compile(r"^ *end$"),
    re.compile(rf"^ *{NODE_ID}\[{LABEL}\]$"),
    re.compile(rf"^ *{NODE_ID} (?:-->|-\.->)\|{LABEL}\| {NODE_ID}$"),
]


def test_every_line_of_the_flowchart_has_a_known_form(synth: Synthesized) -> None:
    lines = drawn(synth.outdir).splitlines()
    odd = [line for line in lines if not any(form.match(line) for form in LINE_FORMS)]
    assert odd == []
    opened = sum(1 for line in lines if line.lstrip().startswith("subgraph "))
    assert opened == 7 and opened == sum(1 for line in lines if line.strip() == "end")
    defined = {m.group(1) for line in lines if (m := re.match(rf"^ *(?:subgraph )?({NODE_ID})\[", line))}
    edges = [m.groups() for line in lines if (m := re.match(rf"^ *({NODE_ID}) .*\| ({NODE_ID})$", line))]
    linked = {name for edge in edges for name in edge}
    assert linked <= defined, f"edges to undefined nodes: {sorted(linked - defined)}"
    assert len(defined) == len([line for line in lines if re.match(rf"^ *(?:subgraph )?{NODE_ID}\[", line)])


def test_the_readme_block_is_replaced_between_its_markers_only() -> None:
    readme = "intro\n<!-- diagram:start anything -->\nold\n<!-- diagram:end -->\noutro\n"
    replaced = embed(readme, "flowchart TB\n")
    assert replaced.startswith("intro\n<!-- diagram:start") and replaced.endswith("<!-- diagram:end -->\noutro\n")
    assert "old" not in replaced and "```mermaid\nflowchart TB\n```\n" in replaced
    assert embed(replaced, "flowchart TB\n") == replaced
    with pytest.raises(DiagramError, match="exactly one"):
        embed("no markers\n", "flowchart TB\n")
