"""Which attributes of a resource change, with sensitive and unknown values redacted.

Walks `before`/`after` of a `terraform show -json` change together with its
`before_sensitive`/`after_sensitive` and `after_unknown` markers (same shape as the value,
or `true` for a whole subtree). A sensitive value is never copied into the result: only
whether it changes is.
"""

from __future__ import annotations

import json
from typing import Any

from delivery.plan_review.model import AttributeChange

SENSITIVE = "(sensitive)"
UNKNOWN = "(known after apply)"
ABSENT = "(none)"


def format_path(parts: list[Any] | tuple[Any, ...]) -> str:
    """`["attribute", 0, "name"]` -> `attribute[0].name`."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def attribute_changes(change: dict[str, Any], replace_paths: tuple[str, ...] = ()) -> tuple[AttributeChange, ...]:
    """The changed leaf attributes of one `change` object (`resource_changes[].change`)."""
    found: list[AttributeChange] = []
    _walk(change.get("before"), change.get("after"), change.get("before_sensitive", False),
          change.get("after_sensitive", False), change.get("after_unknown", False), [], found)
    return tuple(
        AttributeChange(c.path, c.before, c.after, _forces(c.path, replace_paths)) for c in found
    )


def _forces(path: str, replace_paths: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith((f"{p}.", f"{p}[")) for p in replace_paths)


def _display(value: Any, sensitive: Any) -> str:
    if value is None:
        return ABSENT
    if sensitive is True:
        return SENSITIVE
    return json.dumps(value, sort_keys=True)


def _child(marker: Any, key: Any) -> Any:
    if marker is True:
        return True
    if isinstance(marker, dict):
        return marker.get(key, False)
    if isinstance(marker, list) and isinstance(key, int) and key < len(marker):
        return marker[key]
    return False


def _value(value: Any, key: Any) -> Any:
    if isinstance(value, dict):
        return value.get(key)
    if isinstance(value, list) and isinstance(key, int) and key < len(value):
        return value[key]
    return None


def _keys(*values: Any) -> list[Any]:
    keys: list[Any] = []
    for value in values:
        candidates = value.keys() if isinstance(value, dict) else range(len(value)) if isinstance(value, list) else ()
        keys.extend(k for k in candidates if k not in keys)
    return keys


def _walk(before: Any, after: Any, before_sensitive: Any, after_sensitive: Any, unknown: Any,
          path: list[Any], found: list[AttributeChange]) -> None:
    sensitive = before_sensitive is True or after_sensitive is True
    if unknown is True:
        found.append(AttributeChange(format_path(path), _display(before, before_sensitive), UNKNOWN))
        return
    containers = [v for v in (before, after) if v is not None]
    same_shape = bool(containers) and (all(isinstance(v, dict) for v in containers)
                                       or all(isinstance(v, list) for v in containers))
    if same_shape and not sensitive:
        for key in _keys(before, after, unknown):
            _walk(_value(before, key), _value(after, key), _child(before_sensitive, key),
                  _child(after_sensitive, key), _child(unknown, key), [*path, key], found)
        return
    if before != after:
        found.append(AttributeChange(format_path(path), _display(before, before_sensitive),
                                     _display(after, after_sensitive)))
