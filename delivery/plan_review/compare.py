"""Does a fresh plan do what the review showed? The deploy's gate (delivery.plan_review.apply).

Compared per stack: every resource change by address, action and changed attributes with
their displayed values. Sensitive values are displayed as `(sensitive)` in both (the
review never holds one), so they compare by that marker; they come from the same
synthesized configuration, which the deploy checks first (`synth_hash`).
"""

from __future__ import annotations

from delivery.plan_review.model import ResourceChange, StackReview

Key = tuple[str, str, tuple[tuple[str, str, str, bool], ...]]
SHOWN = 5  # differences named in a refusal; the rest are counted


def change_key(change: ResourceChange) -> Key:
    attributes = tuple(sorted((a.path, a.before, a.after, a.forces_replacement) for a in change.attributes))
    return change.address, change.kind, attributes


def _describe(keys: set[Key]) -> str:
    names = sorted(f"{kind} {address}" for address, kind, _attributes in keys)
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return ", ".join(names[:SHOWN]) + more


def differences(stack: str, reviewed: StackReview, fresh: StackReview) -> list[str]:
    """What the fresh plan of `stack` does that its review did not show, or the reverse;
    empty when they agree. Values are never printed, only addresses and actions."""
    problems = []
    reviewed_keys = {change_key(c) for c in reviewed.changes}
    fresh_keys = {change_key(c) for c in fresh.changes}
    changed = {address for address, _kind, _attributes in reviewed_keys ^ fresh_keys}
    only_fresh = {k for k in fresh_keys - reviewed_keys if k[0] not in {r[0] for r in reviewed_keys}}
    only_reviewed = {k for k in reviewed_keys - fresh_keys if k[0] not in {f[0] for f in fresh_keys}}
    altered = changed - {k[0] for k in only_fresh | only_reviewed}
    if only_fresh:
        problems.append(f"{stack}: the plan now also would {_describe(only_fresh)}")
    if only_reviewed:
        problems.append(f"{stack}: the review showed {_describe(only_reviewed)}, which the plan no longer does")
    if altered:
        problems.append(f"{stack}: changes differ from the review in action or attribute values for "
                        f"{', '.join(sorted(altered)[:SHOWN])}")
    allowed = {c.address for c in reviewed.changes if c.stateful and c.allowed}
    unreviewed = [c.address for c in fresh.changes if c.stateful and c.address not in allowed]
    if unreviewed:
        problems.append(f"{stack}: would destroy or replace stateful {', '.join(unreviewed)} without an allowed "
                        "review of it")
    return problems
