"""`make diagram`: the architecture as a Mermaid flowchart, drawn from the synthesized stacks.

    python -m devtools.diagram                        # synthesize prod + bootstrap, write both files
    python -m devtools.diagram --check                # exit 1 when either file is out of date
    python -m devtools.diagram --synth-dir cdktf.out  # reuse a synth of the default configuration
    python -m devtools.diagram --workspace dev        # print another workspace's diagram, write nothing

It writes `docs/architecture.mmd` and the same flowchart into README.md between the
`diagram:start` and `diagram:end` markers (GitHub renders a ```mermaid block). The synth uses
the default configuration (no environment variables of yours), so everyone gets the same
diagram; `tests/infra/test_diagram.py` fails when the committed one no longer matches.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from os.path import commonprefix
from pathlib import Path

from delivery.stacks import BOOTSTRAP, StackGraphError
from devtools.architecture import Architecture, ArchitectureError, Layer, Read, read_architecture

ROOT = Path(__file__).resolve().parents[1]
DIAGRAM_FILE = ROOT / "docs" / "architecture.mmd"
README_FILE = ROOT / "README.md"
# The workspace with every optional part switched on (network with interface endpoints, WAF).
WORKSPACE = "prod"
START_MARKER = "<!-- diagram:start"
END_MARKER = "<!-- diagram:end -->"
README_START = f"{START_MARKER} (written by `make diagram` from the synthesized stacks; do not edit) -->"
NAMES_UP_TO = 3  # a node lists its resources' names up to this many, else only the count
COLLAPSE_FROM = 3  # an edge label folds this many like reads (same type and attributes) into one line


class DiagramError(ValueError):
    """README.md has no (or more than one) diagram block to replace."""


def render(architecture: Architecture) -> str:
    """The Mermaid flowchart: one subgraph per stack, edges for what flows between them."""
    workspace = architecture.workspace
    lines = [
        "flowchart LR",
        f"  %% Written by `make diagram` from the synthesized `{workspace}` workspace; do not edit.",
    ]
    for layer in architecture.layers:
        if layer.stack == BOOTSTRAP:
            lines += _subgraph(layer, "  ")
    lines.append(f'  subgraph {_workspace_id(workspace)}["workspace {workspace}"]')
    for layer in architecture.layers:
        if layer.stack != BOOTSTRAP:
            lines += _subgraph(layer, "    ")
    lines.append("  end")
    if architecture.state_backend_users:
        count = len(architecture.state_backend_users)
        label = f"state bucket: S3 backend of {count} stack{'s' if count != 1 else ''}"
        lines.append(f'  {_node_id(BOOTSTRAP)} -.->|"{label}"| {_workspace_id(workspace)}')
    for flow in architecture.flows:
        label = "<br/>".join(_escape(line) for line in read_lines(flow.reads)) or "depends on"
        lines.append(f'  {_node_id(flow.producer)} -->|"{label}"| {_node_id(flow.consumer)}')
    return "\n".join(lines) + "\n"


def _subgraph(layer: Layer, indent: str) -> list[str]:
    stack_id = _node_id(layer.stack)
    lines = [f'{indent}subgraph {stack_id}["{_escape(layer.stack)}"]']
    for group in layer.resources:
        count = len(group.paths)
        label = _escape(group.rtype if count == 1 else f"{count} × {group.rtype}")
        if count <= NAMES_UP_TO:
            label += "<br/>" + _escape(", ".join(group.paths))
        lines.append(f'{indent}  {stack_id}__{group.rtype}["{label}"]')
    if not layer.resources:
        lines.append(f'{indent}  {stack_id}__none["no main resources"]')
    lines.append(f"{indent}end")
    return lines


def read_lines(reads: tuple[Read, ...]) -> list[str]:
    """One line per resource read (`table: arn, name`); many like resources fold into one
    line with their count and common name prefix (`8 × dlq_*: arn`)."""
    attributes: dict[tuple[str, str], list[str]] = defaultdict(list)
    for read in reads:
        attributes[(read.rtype, read.path)].append(read.attribute)
    alike: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
    for (rtype, path), names in attributes.items():
        alike[(rtype, tuple(sorted(names)))].append(path)
    lines: list[str] = []
    for (rtype, attrs), paths in sorted(alike.items()):
        if len(paths) >= COLLAPSE_FROM:
            prefix = commonprefix(sorted(paths))
            lines.append(f"{len(paths)} × {prefix + '*' if prefix else rtype}: {', '.join(attrs)}")
        else:
            lines += [f"{path}: {', '.join(attrs)}" for path in sorted(paths)]
    return sorted(lines)


def _node_id(stack: str) -> str:
    return stack.replace("-", "_")


def _workspace_id(workspace: str) -> str:
    return f"workspace_{workspace}"


def _escape(text: str) -> str:
    """Text inside a quoted Mermaid label: no quotes or angle brackets of its own."""
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def readme_block(mermaid: str) -> str:
    return f"{README_START}\n```mermaid\n{mermaid}```\n{END_MARKER}"


def embed(readme: str, mermaid: str) -> str:
    """README text with the diagram block between the markers replaced by `mermaid`."""
    lines = readme.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith(START_MARKER)]
    ends = [i for i, line in enumerate(lines) if line.strip() == END_MARKER]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise DiagramError(f"README.md needs exactly one `{START_MARKER} ... -->` line followed by one "
                           f"`{END_MARKER}` line (found {len(starts)} and {len(ends)})")
    return "".join(lines[: starts[0]]) + readme_block(mermaid) + "\n" + "".join(lines[ends[0] + 1 :])


def synthesize(outdir: Path, workspace: str) -> None:
    """Synth `workspace` (and bootstrap) with the default configuration into `outdir`."""
    from modules.app_builder import build_app  # the provider bindings take seconds to import
    from modules.config import load_settings

    build_app(load_settings({"WORKSPACES": workspace}), outdir=str(outdir)).synth()


def stale(mermaid: str, diagram_file: Path = DIAGRAM_FILE, readme_file: Path = README_FILE) -> list[str]:
    """The files whose diagram differs from `mermaid` (empty when both are up to date)."""
    found = []
    if not diagram_file.is_file() or diagram_file.read_text() != mermaid:
        found.append(str(diagram_file))
    readme = readme_file.read_text()
    if embed(readme, mermaid) != readme:
        found.append(str(readme_file))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.diagram", description=__doc__.splitlines()[0])
    parser.add_argument("--synth-dir", type=Path, help="read an existing synth instead of synthesizing")
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed diagram is out of date")
    parser.add_argument("--workspace", help=f"print another workspace's diagram than {WORKSPACE}'s; write nothing")
    args = parser.parse_args(argv)
    try:
        return _run(args.synth_dir, args.workspace, args.check)
    except (StackGraphError, ArchitectureError, DiagramError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _run(synth_dir: Path | None, workspace: str | None, check: bool) -> int:
    mermaid = diagram(synth_dir, workspace or WORKSPACE)
    if workspace is not None:
        print(mermaid, end="")
        return 0
    if check:
        outdated = stale(mermaid)
        for path in outdated:
            print(f"{path}: the architecture diagram is out of date; run `make diagram`", file=sys.stderr)
        return 1 if outdated else 0
    DIAGRAM_FILE.parent.mkdir(parents=True, exist_ok=True)
    DIAGRAM_FILE.write_text(mermaid)
    README_FILE.write_text(embed(README_FILE.read_text(), mermaid))
    print(f"wrote {DIAGRAM_FILE.relative_to(ROOT)} and the diagram block in {README_FILE.relative_to(ROOT)}")
    return 0


def diagram(synth_dir: Path | None, workspace: str) -> str:
    """The flowchart of `workspace`, from `synth_dir` or from a fresh synth in a temporary directory."""
    if synth_dir is not None:
        return render(read_architecture(synth_dir, workspace))
    with tempfile.TemporaryDirectory(prefix="diagram-synth-") as tmp:
        synthesize(Path(tmp), workspace)
        return render(read_architecture(Path(tmp), workspace))


if __name__ == "__main__":
    sys.exit(main())
