"""The route table the infrastructure reads: import-light, complete, and in step with the models."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator
from pydantic import BaseModel, ValidationError

from handlers.api.models import CreateItemRequest, CreateJobRequest, UpdateItemRequest
from handlers.api.routes_table import PUBLIC_ROUTES, REQUEST_MODEL_NAMES, REQUEST_SCHEMAS, ROUTES

REPO_ROOT = Path(__file__).resolve().parents[2]
MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/items"): CreateItemRequest,
    ("PUT", "/items/{id}"): UpdateItemRequest,
    ("POST", "/jobs"): CreateJobRequest,
}


def test_the_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, handlers.api.routes_table as t; "
        "heavy = [m for m in ('boto3', 'botocore', 'pydantic', 'aws_lambda_powertools') if m in sys.modules]; "
        "print(heavy, len(t.ROUTES))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[] 8"


def test_routes_are_the_contract() -> None:
    assert set(ROUTES) == {
        ("GET", "/health"),
        ("POST", "/items"),
        ("GET", "/items"),
        ("GET", "/items/{id}"),
        ("PUT", "/items/{id}"),
        ("DELETE", "/items/{id}"),
        ("POST", "/jobs"),
        ("GET", "/jobs/{id}"),
    }
    assert len(ROUTES) == len(set(ROUTES))
    assert {("GET", "/health")} == PUBLIC_ROUTES


def test_every_body_route_has_a_valid_draft4_schema() -> None:
    assert set(REQUEST_SCHEMAS) == set(MODELS)
    for route, schema in REQUEST_SCHEMAS.items():
        Draft4Validator.check_schema(schema)
        assert REQUEST_MODEL_NAMES[route] == MODELS[route].__name__


@pytest.mark.parametrize("route", sorted(MODELS))
def test_schema_fields_match_the_model(route: tuple[str, str]) -> None:
    schema, model = REQUEST_SCHEMAS[route], MODELS[route]
    required = {name for name, field in model.model_fields.items() if field.is_required()}

    assert set(schema["properties"]) == set(model.model_fields)
    assert set(schema["required"]) == required
    assert schema["additionalProperties"] is False
    assert model.model_config.get("extra") == "forbid"


def _pydantic_accepts(model: type[BaseModel], body: Any) -> bool:
    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=210) | json_values,
        "description": st.none() | st.text(max_size=30) | json_values,
        "tags": st.lists(st.text(max_size=55), max_size=22) | json_values,
        "version": st.integers(-1, 5) | json_values,
        "payload": st.dictionaries(st.text(max_size=5), json_values, max_size=3) | json_values,
        "unexpected": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(body=bodies)
def test_the_gateway_never_rejects_a_body_the_function_accepts(body: dict[str, Any]) -> None:
    for route, model in MODELS.items():
        if _pydantic_accepts(model, body):
            errors = list(Draft4Validator(REQUEST_SCHEMAS[route]).iter_errors(body))
            assert errors == [], f"{route}: {body!r} accepted by the model, rejected by the schema"
