"""Workflow logic without AWS: payload rules, computation, state parsing, client-safe failures."""

from __future__ import annotations

import json

import pytest

from handlers.shared.exceptions import JobValidationError
from handlers.workflow import logic
from handlers.workflow.models import FailedState, JobState, ValidatedState

JOB_ID = "0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0d"


def test_a_valid_payload_gets_its_operation() -> None:
    state = JobState.model_validate({"job_id": JOB_ID, "payload": {"items": [1, 2.5]}, "trace": "kept"})

    output = logic.validate(state)

    assert output == {"job_id": JOB_ID, "payload": {"items": [1, 2.5]}, "trace": "kept", "operation": "sum"}


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ({}, "payload.items: Field required"),
        ({"items": []}, "payload.items: List should have at least 1 item"),
        ({"items": [1, "2"]}, "payload.items.1"),
        ({"items": [True]}, "payload.items.0"),
        ({"items": [1], "operation": "median"}, "payload.operation"),
        ({"items": [1], "extra": 1}, "payload.extra: Extra inputs are not permitted"),
        ({"items": [1] * 10_001}, "payload.items: List should have at most 10000 items"),
    ],
)
def test_an_invalid_payload_names_the_problem(payload: dict[str, object], problem: str) -> None:
    state = JobState.model_validate({"job_id": JOB_ID, "payload": payload})

    with pytest.raises(JobValidationError) as caught:
        logic.validate(state)

    assert problem in str(caught.value)
    assert type(caught.value).__name__ == "JobValidationError"


@pytest.mark.parametrize(
    ("operation", "values", "expected"),
    [("sum", [1, 2, 3], 6), ("sum", [0.1, 0.2], 0.30000000000000004), ("mean", [1, 2], 1.5), ("min", [3, -1], -1)],
)
def test_compute(operation: str, values: list[float], expected: float) -> None:
    result = logic.compute(values, operation)  # type: ignore[arg-type]

    assert result.value == pytest.approx(expected)
    assert result.count == len(values)


def test_a_malformed_state_is_a_validation_error() -> None:
    with pytest.raises(JobValidationError, match="Invalid task input: job_id"):
        logic.parse_state(ValidatedState, {"job_id": "nope", "payload": {}, "operation": "sum"})


def test_validation_messages_reach_the_client_but_stack_traces_do_not() -> None:
    cause = json.dumps(
        {
            "errorMessage": "Invalid job payload: payload.items: Field required",
            "errorType": "JobValidationError",
            "stackTrace": ['  File "/var/task/handlers/workflow/logic.py", line 40'],
        }
    )
    validation = FailedState.model_validate(
        {"job_id": JOB_ID, "error": {"Error": "JobValidationError", "Cause": cause}}
    )
    crash = FailedState.model_validate(
        {"job_id": JOB_ID, "error": {"Error": "KeyError", "Cause": json.dumps({"errorMessage": "'secret'"})}}
    )

    assert logic.failure_of(validation).message == "Invalid job payload: payload.items: Field required"
    assert logic.failure_of(crash).code == "KeyError"
    assert logic.failure_of(crash).message == logic.GENERIC_FAILURE
