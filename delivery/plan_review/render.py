"""The review as Markdown, within GitHub's comment limit.

Order: title and exit code, the stateful banner, the summary table, per-stack
collapsible details, notes (drift, changed outputs, waits, errors). When the whole text
is over the budget, the details are shortened step by step (shorter values, no
attributes, fewer resources, none); the banner and the table are never shortened.
"""

from __future__ import annotations

from dataclasses import dataclass

from delivery.plan_review.model import KINDS, AttributeChange, ResourceChange, StackReview, WorkspaceReview
from delivery.plan_review.stateful import STATEFUL_TYPES

GITHUB_COMMENT_LIMIT = 65_536
BUDGET = GITHUB_COMMENT_LIMIT - 1_536  # room for the sticky comment's marker and header
EXIT_MEANING = {0: "no changes", 1: "error: the review is incomplete", 2: "changes",
                3: "blocked: a stateful resource would be destroyed or replaced"}


@dataclass(frozen=True)
class Detail:
    """How much of each stack's details to show."""

    value_width: int = 160
    attributes: bool = True
    max_resources: int | None = None


LEVELS = (Detail(), Detail(value_width=60), Detail(attributes=False), Detail(attributes=False, max_resources=100),
          Detail(attributes=False, max_resources=20), Detail(attributes=False, max_resources=0))


def render(review: WorkspaceReview, budget: int = BUDGET) -> str:
    """The Markdown review: the most detailed level that fits in `budget` characters."""
    head = _head(review)
    for index, level in enumerate(LEVELS):
        shortened = "" if index == 0 else ("\n_Details shortened to fit a GitHub comment; "
                                           "the full review is in the artefact._\n")
        text = head + shortened + _details(review, level) + _notes(review, level)
        if len(text) <= budget or index == len(LEVELS) - 1:
            return text
    raise AssertionError("unreachable")


def _head(review: WorkspaceReview) -> str:
    code = review.exit_code
    lines = [f"## Plan review: `{review.workspace}`", "",
             f"Exit {code}: {EXIT_MEANING[code]}. Synthesized stacks `{review.synth_hash[:16]}`"
             + (f", commit `{review.commit[:12]}`" if review.commit else "") + ".", ""]
    if review.stateful:
        lines += ["> [!CAUTION]", "> **Stateful resources that would be destroyed or replaced:**"]
        for stack_name, change in review.stateful:
            forced = f", forced by {', '.join(f'`{p}`' for p in change.replace_paths)}" if change.replace_paths else ""
            gate = "allowed" if change.allowed else "**blocked**"
            lines.append(f"> - {gate}: **{change.kind}** `{change.address}` in `{stack_name}`"
                         f" ({_construct(change.construct_path, change.kind)}; {STATEFUL_TYPES[change.type]}){forced}")
        lines += ["> ", "> Allow one with `ALLOW_STATEFUL_CHANGES=<address>[,...]` (or the pull request label).", ""]
    lines += ["| Stack | Add | Change | Replace | Destroy | Unchanged | Status |",
              "|---|---:|---:|---:|---:|---:|---|"]
    for stack in review.stacks:
        cells = [str(stack.counts[k]) if stack.status == "planned" else "–" for k in (*KINDS, "unchanged")]
        lines.append(f"| `{stack.stack}` | {' | '.join(cells)} | {_status(stack)} |")
    return "\n".join(lines) + "\n"


def _status(stack: StackReview) -> str:
    if stack.status == "waits":
        failed = str(stack.reason).startswith("not planned")
        return f"not planned: `{stack.waits_on}` failed" if failed else f"waits on `{stack.waits_on}`"
    if stack.status == "error":
        return "**error** (see notes)"
    return "changes" if stack.has_changes else "no changes"


def _construct(path: str | None, kind: str = "") -> str:
    if path:
        return f"`{path}`"
    # A destroyed resource that is not in `cdk.tf.json` any more: its code was removed.
    return "removed from the code" if kind == "destroy" else "no construct path"


def _value(text: str, width: int) -> str:
    text = text if len(text) <= width else text[: width - 1] + "…"
    return "`" + text.replace("`", "'") + "`"


def _attribute(change: AttributeChange, width: int) -> str:
    forces = " (forces replacement)" if change.forces_replacement else ""
    return f"  - `{change.path}`: {_value(change.before, width)} → {_value(change.after, width)}{forces}"


def _resource(change: ResourceChange, level: Detail) -> list[str]:
    lines = [f"- **{change.kind}** `{change.address}` — {_construct(change.construct_path, change.kind)}"]
    if level.attributes:
        lines += [_attribute(a, level.value_width) for a in change.attributes]
    return lines


def _details(review: WorkspaceReview, level: Detail) -> str:
    parts: list[str] = []
    for stack in review.stacks:
        if not stack.changes:
            continue
        shown = stack.changes if level.max_resources is None else stack.changes[: level.max_resources]
        summary = ", ".join(f"{stack.counts[k]} to {k}" for k in KINDS if stack.counts[k])
        lines = [f"<details><summary><code>{stack.stack}</code>: {summary}</summary>", ""]
        for change in shown:
            lines += _resource(change, level)
        if len(shown) < len(stack.changes):
            lines.append(f"- … and {len(stack.changes) - len(shown)} more (full list in the artefact)")
        parts.append("\n".join([*lines, "", "</details>"]))
    return ("\n### Changes\n\n" + "\n\n".join(parts) + "\n") if parts else ""


def _notes(review: WorkspaceReview, level: Detail) -> str:
    notes: list[str] = []
    for stack in review.stacks:
        drift = stack.drift if level.max_resources is None else stack.drift[: level.max_resources]
        for item in drift:
            attrs = ", ".join(f"`{a.path}` {_value(a.before, level.value_width)} → {_value(a.after, level.value_width)}"
                              for a in item.attributes) if level.attributes else ""
            notes.append(f"- Drift in `{stack.stack}`: `{item.address}` ({_construct(item.construct_path)}) "
                         f"{item.kind} outside Terraform" + (f": {attrs}" if attrs else ""))
        if len(drift) < len(stack.drift):
            notes.append(f"- … and {len(stack.drift) - len(drift)} more drifted resources in `{stack.stack}`")
        if stack.changed_outputs:
            notes.append(f"- `{stack.stack}` changes outputs: {', '.join(f'`{o}`' for o in stack.changed_outputs)}")
        if stack.status != "planned":
            notes.append(f"- `{stack.stack}`: {stack.reason}")
    return ("\n### Notes\n\n" + "\n".join(notes) + "\n") if notes else ""
