"""What is allowed, in words: pydantic's errors rephrased to end in `allowed: ...`, read
from the models themselves (bounds, literals, field names), so a message cannot drift
from the schema it reports on."""

from __future__ import annotations

from typing import Any, get_args, get_origin

from pydantic import BaseModel

_BOUND_ERRORS = ("greater_than_equal", "greater_than", "less_than_equal", "less_than")
# Strict validation of file values: a type error names the TOML type the key takes.
_TYPE_ERRORS = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number", "string_type": "a string", "bool_type": "true or false",
    "list_type": "an array", "tuple_type": "an array", "dict_type": "a table", "model_type": "a table",
    "model_attributes_type": "a table",
}


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    candidates = (annotation, *get_args(annotation))
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)


def model_at(root: type[BaseModel], path: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model whose fields the key at `path` is one of (None below a plain value).
    A dict of models (e.g. `function_overrides`) takes one path part for its key."""
    model: type[BaseModel] | None = root
    parts = list(path)
    while parts and model is not None:
        field = model.model_fields.get(str(parts.pop(0)))
        if field is None:
            return None
        if get_origin(field.annotation) is dict:
            if not parts:
                return None
            parts.pop(0)
        model = _nested_model(field.annotation)
    return model


def _allowed_range(root: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The bounds of a numeric setting, read from the model itself (e.g. `128 to 10240`)."""
    model = model_at(root, loc[:-1])
    field = model.model_fields.get(str(loc[-1])) if model else None
    bounds = {name: getattr(rule, name) for rule in (field.metadata if field else ())
              for name in ("ge", "gt", "le", "lt") if getattr(rule, name, None) is not None}
    if "ge" in bounds and "le" in bounds:
        return f"{bounds['ge']} to {bounds['le']}"
    phrases = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
    return ", ".join(f"{phrases[name]} {bound}" for name, bound in bounds.items())


def allowed_keys(root: type[BaseModel], path: tuple[int | str, ...]) -> str:
    model = model_at(root, path)
    return ", ".join(model.model_fields) if model else "no keys here"


def message(root: type[BaseModel], item: Any) -> str:
    """Pydantic's text for one error, rephrased to end in what is allowed."""
    kind = item["type"]
    if kind in _BOUND_ERRORS:
        return f"out of range; allowed: {_allowed_range(root, item['loc'])}"
    if kind == "literal_error":
        return f"not a known value; allowed: {item['ctx']['expected']}"
    if kind == "extra_forbidden":
        return f"unknown key; allowed: {allowed_keys(root, item['loc'][:-1])}"
    if kind == "missing":
        return "missing; allowed: a value (this table has no default for it)"
    if kind in _TYPE_ERRORS:
        return f"wrong type; allowed: {_TYPE_ERRORS[kind]}"
    return str(item["msg"]).removeprefix("Value error, ")


def shown(value: object) -> str:
    """The value as a problem line shows it: scalars only (a table or array is named by its key)."""
    return "" if isinstance(value, dict | list | tuple) else f" (value {value!r})"
