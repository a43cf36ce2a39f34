"""The review model: what each stack's plan would do, and the workspace's exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

KINDS = ("add", "change", "replace", "destroy")
EXIT_NO_CHANGES, EXIT_ERROR, EXIT_CHANGES, EXIT_BLOCKED = 0, 1, 2, 3


@dataclass(frozen=True)
class AttributeChange:
    """One changed attribute: display values already redacted (sensitive, unknown)."""

    path: str
    before: str
    after: str
    forces_replacement: bool = False


@dataclass(frozen=True)
class ResourceChange:
    address: str
    type: str
    kind: str  # add, change, replace, destroy
    construct_path: str | None
    attributes: tuple[AttributeChange, ...] = ()
    replace_paths: tuple[str, ...] = ()
    stateful: bool = False
    allowed: bool = False


@dataclass(frozen=True)
class Drift:
    """A resource changed or deleted outside Terraform, found by the plan's refresh."""

    address: str
    kind: str  # changed, deleted
    construct_path: str | None
    attributes: tuple[AttributeChange, ...] = ()


@dataclass(frozen=True)
class StackReview:
    stack: str
    status: str  # planned, waits, error
    counts: dict[str, int] = field(default_factory=dict)  # KINDS + unchanged
    changes: tuple[ResourceChange, ...] = ()
    drift: tuple[Drift, ...] = ()
    changed_outputs: tuple[str, ...] = ()  # names only: cross-stack outputs are sensitive
    deployed: bool = True  # False: the stack has no state yet
    waits_on: str | None = None
    reason: str | None = None  # why it waits, or what failed and what to do
    plan_file: str | None = None
    seconds: float = 0.0

    @property
    def has_changes(self) -> bool:
        return any(self.counts.get(kind, 0) for kind in KINDS)

    @property
    def blocking(self) -> tuple[ResourceChange, ...]:
        return tuple(c for c in self.changes if c.stateful and not c.allowed)


@dataclass(frozen=True)
class WorkspaceReview:
    workspace: str
    stacks: tuple[StackReview, ...]
    synth_hash: str
    commit: str | None = None

    @property
    def stateful(self) -> tuple[tuple[str, ResourceChange], ...]:
        return tuple((s.stack, c) for s in self.stacks for c in s.changes if c.stateful)

    @property
    def exit_code(self) -> int:
        """1 when a stack failed (the review is incomplete), else 3 when a stateful
        resource would be destroyed or replaced without being allowed, else 2 when
        anything changes (or a stack waits on an upstream), else 0."""
        if any(s.status == "error" for s in self.stacks):
            return EXIT_ERROR
        if any(s.blocking for s in self.stacks):
            return EXIT_BLOCKED
        if any(s.has_changes or s.status == "waits" for s in self.stacks):
            return EXIT_CHANGES
        return EXIT_NO_CHANGES


def review_from_json(document: dict[str, Any]) -> WorkspaceReview:
    """A `WorkspaceReview` back from the `<ws>.json` written by the plan review."""
    stacks = []
    for stack in document["stacks"]:
        changes = tuple(ResourceChange(**{**c, "attributes": tuple(AttributeChange(**a) for a in c["attributes"]),
                                          "replace_paths": tuple(c["replace_paths"])}) for c in stack["changes"])
        drift = tuple(Drift(**{**d, "attributes": tuple(AttributeChange(**a) for a in d["attributes"])})
                      for d in stack["drift"])
        stacks.append(StackReview(**{**stack, "changes": changes, "drift": drift,
                                     "changed_outputs": tuple(stack["changed_outputs"])}))
    return WorkspaceReview(document["workspace"], tuple(stacks), document["synth_hash"], document.get("commit"))
