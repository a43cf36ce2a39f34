"""Summarize one stack's `terraform show -json` plan document (pure: no I/O).

Input: the plan JSON and the stack's synthesized `cdk.tf.json` (for each resource's
construct path, its `"//": {"metadata": {"path": ...}}`). Output: a `StackReview` holding
counts, changed resources with their changed attributes (sensitive and unknown values
redacted), drift found by refresh, and the names of outputs that change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from delivery.plan_review.attributes import attribute_changes, format_path
from delivery.plan_review.model import KINDS, AttributeChange, Drift, ResourceChange, StackReview
from delivery.plan_review.secrets import redact, sensitive_values
from delivery.plan_review.stateful import is_allowed, is_stateful

_KIND_OF_ACTIONS = {
    ("no-op",): "unchanged",
    ("create",): "add",
    ("update",): "change",
    ("delete",): "destroy",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("forget",): "change",  # `removed` block: leaves state, not the resource
}


def kind_of(actions: Iterable[str]) -> str:
    actions = tuple(actions)
    try:
        return _KIND_OF_ACTIONS[actions]
    except KeyError:
        raise ValueError(f"unknown plan actions {list(actions)}") from None


def construct_paths(stack_json: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(resource type, name) -> construct path, from the `//` metadata of `cdk.tf.json`."""
    paths: dict[tuple[str, str], str] = {}
    for rtype, resources in stack_json.get("resource", {}).items():
        for name, body in resources.items():
            path = body.get("//", {}).get("metadata", {}).get("path")
            if path:
                paths[(rtype, name)] = path
    return paths


def summarize(stack: str, plan: dict[str, Any], stack_json: dict[str, Any],
              allowed: Iterable[str] = ()) -> StackReview:
    """The review of one planned stack; `allowed` lists the stateful addresses allowed."""
    paths = construct_paths(stack_json)
    allowed = frozenset(allowed)
    secrets = sensitive_values(plan)
    counts = dict.fromkeys((*KINDS, "unchanged"), 0)
    changes: list[ResourceChange] = []
    for entry in plan.get("resource_changes", []):
        if entry.get("mode") != "managed":
            continue
        kind = kind_of(entry["change"]["actions"])
        counts[kind] += 1
        if kind != "unchanged":
            change = _resource_change(stack, entry, kind, paths, allowed)
            changes.append(dataclasses.replace(change, attributes=_redacted(change.attributes, secrets)))
    return StackReview(
        stack=stack, status="planned", counts=counts, changes=tuple(changes),
        drift=tuple(dataclasses.replace(d, attributes=_redacted(d.attributes, secrets)) for d in _drifts(plan, paths)),
        changed_outputs=tuple(sorted(name for name, change in plan.get("output_changes", {}).items()
                                     if tuple(change.get("actions", ())) != ("no-op",))),
        deployed=bool(_prior_resources(plan)),
    )


def _redacted(attributes: tuple[AttributeChange, ...], secrets: frozenset[str]) -> tuple[AttributeChange, ...]:
    return tuple(dataclasses.replace(a, before=redact(a.before, secrets), after=redact(a.after, secrets))
                 for a in attributes)


def _resource_change(stack: str, entry: dict[str, Any], kind: str, paths: dict[tuple[str, str], str],
                     allowed: frozenset[str]) -> ResourceChange:
    replace_paths = tuple(format_path(p) for p in entry["change"].get("replace_paths", []) or [])
    attributes = attribute_changes(entry["change"], replace_paths) if kind in ("change", "replace") else ()
    stateful = kind in ("destroy", "replace") and is_stateful(entry["type"])
    return ResourceChange(
        address=entry["address"], type=entry["type"], kind=kind,
        construct_path=paths.get((entry["type"], entry["name"])), attributes=attributes,
        replace_paths=replace_paths, stateful=stateful,
        allowed=stateful and is_allowed(entry["address"], stack, allowed),
    )


def _drifts(plan: dict[str, Any], paths: dict[tuple[str, str], str]) -> tuple[Drift, ...]:
    """Drift that matters: deletions, changed attributes relevant to this plan (as Terraform
    reports them, `relevant_attributes`), and changed attributes this plan sets back (a
    setting changed by hand); the rest of `resource_drift` is the provider normalizing
    values on refresh, which changes nothing."""
    relevant: dict[str, list[str]] = {}
    for item in plan.get("relevant_attributes", []):
        relevant.setdefault(item["resource"], []).append(format_path(item.get("attribute", [])))
    for entry in plan.get("resource_changes", []):
        if entry.get("mode") == "managed" and kind_of(entry["change"]["actions"]) in ("change", "replace"):
            relevant.setdefault(entry["address"], []).extend(a.path for a in attribute_changes(entry["change"]))
    found = []
    for entry in plan.get("resource_drift", []):
        if entry.get("mode") != "managed":
            continue
        construct = paths.get((entry["type"], entry["name"]))
        if "delete" in entry["change"]["actions"]:
            found.append(Drift(entry["address"], "deleted", construct))
            continue
        wanted = relevant.get(entry["address"], [])
        attributes = tuple(a for a in attribute_changes(entry["change"])
                           if any(w == "" or a.path == w or a.path.startswith((f"{w}.", f"{w}[")) for w in wanted))
        if attributes:
            found.append(Drift(entry["address"], "changed", construct, attributes))
    return tuple(found)


def _prior_resources(plan: dict[str, Any]) -> list[Any]:
    """Managed resources in the state the plan started from (none: not deployed yet)."""
    module = plan.get("prior_state", {}).get("values", {}).get("root_module", {})
    found = [r for r in module.get("resources", []) if r.get("mode") == "managed"]
    for child in module.get("child_modules", []):
        found.extend(r for r in child.get("resources", []) if r.get("mode") == "managed")
    return found
