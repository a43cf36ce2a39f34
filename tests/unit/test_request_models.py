"""Request models: every limit of the contract, unknown fields, no type coercion."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from handlers.api.models import CreateItemRequest, CreateJobRequest, UpdateItemRequest


def _failures(model: Any, body: dict[str, Any]) -> set[tuple[str, ...]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return {tuple(str(part) for part in error["loc"]) for error in caught.value.errors()}


def test_name_is_trimmed_and_defaults_apply() -> None:
    request = CreateItemRequest.model_validate({"name": "  Lamp  "})

    assert request.name == "Lamp"
    assert request.description is None
    assert request.tags == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "   "}, ("name",)),
        ({"name": "x" * 201}, ("name",)),
        ({"name": "bell\x07"}, ("name",)),
        ({"name": "line\nbreak"}, ("name",)),
        ({"name": "ok", "description": "d" * 2001}, ("description",)),
        ({"name": "ok", "description": "nul\x00"}, ("description",)),
        ({"name": "ok", "tags": ["t"] * 2}, ("tags",)),
        ({"name": "ok", "tags": ["a", " a "]}, ("tags",)),
        ({"name": "ok", "tags": [f"t{i}" for i in range(21)]}, ("tags",)),
        ({"name": "ok", "tags": [""]}, ("tags", "0")),
        ({"name": "ok", "tags": ["x" * 51]}, ("tags", "0")),
        ({"name": "ok", "tags": "a,b"}, ("tags",)),
        ({"name": 5}, ("name",)),
        ({"name": "ok", "colour": "red"}, ("colour",)),
        ({}, ("name",)),
    ],
)
def test_create_item_rejects_with_the_failing_field(body: dict[str, Any], field: tuple[str, ...]) -> None:
    assert field in _failures(CreateItemRequest, body)


def test_limits_are_inclusive() -> None:
    request = CreateItemRequest.model_validate(
        {"name": "n" * 200, "description": "d" * 2000, "tags": [f"{i:0>50}" for i in range(20)]}
    )

    assert len(request.name) == 200 and len(request.tags) == 20


def test_description_may_span_lines() -> None:
    assert CreateItemRequest.model_validate({"name": "a", "description": "one\r\ntwo\tthree"}).description


def test_update_requires_an_integer_version_of_at_least_one() -> None:
    assert ("version",) in _failures(UpdateItemRequest, {"name": "a"})
    assert ("version",) in _failures(UpdateItemRequest, {"name": "a", "version": 0})
    assert ("version",) in _failures(UpdateItemRequest, {"name": "a", "version": "1"})
    assert ("version",) in _failures(UpdateItemRequest, {"name": "a", "version": True})
    assert UpdateItemRequest.model_validate({"name": "a", "version": 3}).version == 3


def test_job_payload_must_be_an_object() -> None:
    assert ("payload",) in _failures(CreateJobRequest, {"payload": [1, 2]})
    assert ("payload",) in _failures(CreateJobRequest, {})
    assert ("other",) in _failures(CreateJobRequest, {"payload": {}, "other": 1})
    assert CreateJobRequest.model_validate({"payload": {"items": [1]}}).payload == {"items": [1]}
