"""Configuration problems as people read them: one line per problem naming the variable
(or workspace setting), the value and what is allowed, rewritten from pydantic's errors.
Kept apart from modules/config.py so that file holds only settings and their defaults."""

from __future__ import annotations

from typing import Any, get_args

from pydantic import BaseModel, ValidationError


class ConfigError(ValueError):
    """Raised with one line per configuration problem: field, value, what is allowed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


# Settings fields that come from an environment variable: problems with them are
# reported under the variable's name, once, however many workspaces are selected.
_FIELD_TO_VARIABLE = {
    "project": "PROJECT_NAME",
    "region": "DEPLOY_REGION",
    "state_bucket": "STATE_BUCKET",
    "alert_emails": "ALERT_EMAILS",
    "emulator_endpoint": "EMULATOR_ENDPOINT",
    "network.vpc_cidr": "VPC_CIDR",
    "api": "API_DOMAIN_NAME/API_CERTIFICATE_ARN",
    "api.kind": "API_KIND",
}


_BOUND_ERRORS = ("greater_than_equal", "greater_than", "less_than_equal", "less_than")


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    candidates = (annotation, *get_args(annotation))
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)


def _allowed_range(root: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The bounds of a numeric setting, read from the model itself (e.g. `128 to 10240`)."""
    model: type[BaseModel] | None = root
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if model else None
        model = _nested_model(field.annotation) if field else None
    field = model.model_fields.get(str(loc[-1])) if model else None
    bounds = {name: getattr(rule, name) for rule in (field.metadata if field else ())
              for name in ("ge", "gt", "le", "lt") if getattr(rule, name, None) is not None}
    if "ge" in bounds and "le" in bounds:
        return f"{bounds['ge']} to {bounds['le']}"
    phrases = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
    return ", ".join(f"{phrases[name]} {bound}" for name, bound in bounds.items())


def _message(root: type[BaseModel], item: Any) -> str:
    """Pydantic's text for one error, rephrased to end in what is allowed."""
    if item["type"] in _BOUND_ERRORS:
        return f"out of range; allowed: {_allowed_range(root, item['loc'])}"
    if item["type"] == "literal_error":
        return f"not a known value; allowed: {item['ctx']['expected']}"
    return str(item["msg"]).removeprefix("Value error, ")


def describe(error: ValidationError, root: type[BaseModel], workspace: str,
             derived: frozenset[str] = frozenset()) -> list[str]:
    """One line per problem: the variable (or workspace setting), the value, what is allowed.
    A value the user did not set but that is derived from others (`derived`) is only
    reported when nothing else is wrong: its error would blame a variable nobody set."""
    found = [(item, ".".join(str(part) for part in item["loc"]) or "settings") for item in error.errors()]
    if any(field not in derived for _item, field in found):
        found = [(item, field) for item, field in found if field not in derived]
    problems = []
    for item, field in found:
        value = item.get("input")
        shown = "" if isinstance(value, (dict, tuple)) or field == "settings" else f" (value {value!r})"
        variable = _FIELD_TO_VARIABLE.get(field)
        where = f"{variable} ({field})" if variable else f"{workspace}: {field}"
        problems.append(f"{where}{shown}: {_message(root, item)}")
    return problems
