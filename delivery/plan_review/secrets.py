"""Values a plan marks sensitive anywhere, so that they are never shown anywhere else.

Terraform marks a value sensitive per attribute, and a provider does not always mark every
copy: AWS provider 5.100 marks an API key's `value` sensitive on `aws_api_gateway_api_key`
but not on `aws_api_gateway_usage_plan_key`, which holds the same key. So every value marked
sensitive somewhere in the document (prior state, planned values, changes, drift, outputs)
is collected, and any displayed value that contains one is redacted as well. Not collected:
cdktf's `cross-stack-output-*` outputs, which cdktf marks sensitive whatever they carry
(names, ARNs); their values are attributes of the stack's own resources, which carry their
own markers.
"""

from __future__ import annotations

import json
from typing import Any

SENSITIVE = "(sensitive)"
CROSS_STACK_OUTPUT = "cross-stack-output-"
MIN_LENGTH = 6  # shorter values ("true", "1", "us") would redact too much and hide too little


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _collect(value: Any, marker: Any, found: set[str]) -> None:
    if marker is True:
        found.update(str(leaf) for leaf in _leaves(value) if leaf is not None and len(str(leaf)) >= MIN_LENGTH)
    elif isinstance(marker, dict) and isinstance(value, dict):
        for key, item in marker.items():
            _collect(value.get(key), item, found)
    elif isinstance(marker, list) and isinstance(value, list):
        for item, item_marker in zip(value, marker, strict=False):
            _collect(item, item_marker, found)


def _module_values(module: dict[str, Any], found: set[str]) -> None:
    for resource in module.get("resources", []):
        _collect(resource.get("values"), resource.get("sensitive_values", False), found)
    for child in module.get("child_modules", []):
        _module_values(child, found)


def sensitive_values(plan: dict[str, Any]) -> frozenset[str]:
    """Every value of at least `MIN_LENGTH` characters marked sensitive in `plan`."""
    found: set[str] = set()
    for section in ("prior_state", "planned_values"):
        values = plan.get(section, {})
        _module_values(values.get("values", values).get("root_module", {}), found)
        for name, output in values.get("values", values).get("outputs", {}).items():
            if not name.startswith(CROSS_STACK_OUTPUT):
                _collect(output.get("value"), output.get("sensitive", False), found)
    outputs = [c for name, c in plan.get("output_changes", {}).items() if not name.startswith(CROSS_STACK_OUTPUT)]
    changes = [*plan.get("resource_changes", []), *plan.get("resource_drift", [])]
    for change in [c["change"] for c in changes] + outputs:
        _collect(change.get("before"), change.get("before_sensitive", False), found)
        _collect(change.get("after"), change.get("after_sensitive", False), found)
    return frozenset(found)


def redact(display: str, secrets: frozenset[str]) -> str:
    """`display` (a JSON-encoded value), or `(sensitive)` when it contains a secret."""
    for secret in secrets:
        if secret in display or json.dumps(secret)[1:-1] in display:
            return SENSITIVE
    return display
