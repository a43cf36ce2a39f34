"""Idempotency-Key on POST /items and POST /jobs (Powertools idempotency on the idempotency table)."""

from __future__ import annotations

from typing import Any

from tests.handlers.helpers import IDEMPOTENCY_TABLE_NAME, STATE_MACHINE_ARN, TABLE_NAME, client_error, count_records


def test_same_key_and_body_five_times_creates_one_item_with_identical_responses(api: Any, table: Any) -> None:
    responses = [
        api("POST", "/items", body={"name": "Lamp", "tags": ["a"]}, headers={"Idempotency-Key": "key-1"})
        for _ in range(5)
    ]

    assert count_records(table, "ITEM#") == 1
    first = responses[0]
    assert first.status == 201
    for response in responses[1:]:
        assert (response.status, response.body, response.headers["Location"]) == (
            first.status,
            first.body,
            first.headers["Location"],
        )
    records = table.scan(TableName=IDEMPOTENCY_TABLE_NAME)["Items"]
    assert len(records) == 1
    assert records[0]["status"] == {"S": "COMPLETED"}
    assert "expiration" in records[0]


def test_the_key_header_is_case_insensitive(api: Any, table: Any) -> None:
    api("POST", "/items", body={"name": "Lamp"}, headers={"Idempotency-Key": "key-2"})
    api("POST", "/items", body={"name": "Lamp"}, headers={"idempotency-key": "key-2"})

    assert count_records(table, "ITEM#") == 1


def test_same_key_with_another_body_is_rejected(api: Any, table: Any) -> None:
    first = api("POST", "/items", body={"name": "Lamp"}, headers={"Idempotency-Key": "key-3"})

    reused = api("POST", "/items", body={"name": "Chair"}, headers={"Idempotency-Key": "key-3"})

    assert first.status == 201
    assert reused.status == 422
    assert reused.body["error"]["code"] == "idempotency_key_reused"
    assert count_records(table, "ITEM#") == 1


def test_without_a_key_every_post_creates(api: Any, table: Any) -> None:
    api("POST", "/items", body={"name": "Lamp"})
    api("POST", "/items", body={"name": "Lamp"})

    assert count_records(table, "ITEM#") == 2


def test_keys_are_scoped_to_the_route(api: Any, table: Any) -> None:
    item = api("POST", "/items", body={"name": "Lamp"}, headers={"Idempotency-Key": "shared"})
    job = api("POST", "/jobs", body={"payload": {"items": [1]}}, headers={"Idempotency-Key": "shared"})

    assert item.status == 201 and job.status == 202
    assert count_records(table, "JOB#") == 1


def test_keys_are_scoped_to_the_api_key(api: Any, table: Any) -> None:
    api("POST", "/items", body={"name": "Lamp"}, headers={"Idempotency-Key": "k"}, api_key_id="client-a")
    api("POST", "/items", body={"name": "Lamp"}, headers={"Idempotency-Key": "k"}, api_key_id="client-b")

    assert count_records(table, "ITEM#") == 2


def test_job_submission_is_idempotent(api: Any, table: Any, state_machine: Any) -> None:
    responses = [
        api("POST", "/jobs", body={"payload": {"items": [1, 2]}}, headers={"Idempotency-Key": "job-key"})
        for _ in range(3)
    ]

    assert {(r.status, r.body["job_id"], r.headers["Location"]) for r in responses} == {
        (202, responses[0].body["job_id"], f"/jobs/{responses[0].body['job_id']}")
    }
    assert count_records(table, "JOB#") == 1
    executions = state_machine.list_executions(stateMachineArn=STATE_MACHINE_ARN)["executions"]
    assert len(executions) == 1


def test_a_failed_attempt_is_not_recorded_so_the_retry_succeeds(api: Any, table: Any, inject_fault: Any) -> None:
    fault = inject_fault(
        "dynamodb", "PutItem", client_error("ProvisionedThroughputExceededException"), table=TABLE_NAME
    )
    failed = api("POST", "/items", body={"name": "Lamp"}, headers={"Idempotency-Key": "retry-me"})
    assert failed.status == 503
    assert count_records(table, "ITEM#") == 0

    fault.clear()
    retried = api("POST", "/items", body={"name": "Lamp"}, headers={"Idempotency-Key": "retry-me"})

    assert retried.status == 201
    assert count_records(table, "ITEM#") == 1


def test_malformed_key_is_a_validation_error(api: Any) -> None:
    response = api("POST", "/items", body={"name": "Lamp"}, headers={"Idempotency-Key": "has space"})

    assert response.status == 422
    assert response.body["error"]["details"][0]["field"].lower() == "header.idempotency-key"


def test_a_request_still_in_progress_is_409_with_retry_after(api: Any, table: Any, monkeypatch: Any) -> None:
    from handlers.api import dependencies
    from handlers.api.logic import items as items_logic
    from handlers.shared.exceptions import IdempotencyRequestInProgress

    store = dependencies.idempotency_store()
    seen: list[type[Exception]] = []

    def create_while_the_same_key_is_in_flight(*args: Any, **kwargs: Any) -> Any:
        # A second delivery of the same request arrives while the first is still running.
        try:
            store.run_once(
                scope="POST /items",
                key="busy",
                caller="test-api-key-id",
                request={"name": "Lamp", "description": None, "tags": []},
                operation=dict,
            )
        except IdempotencyRequestInProgress as err:
            seen.append(type(err))
            raise
        raise AssertionError("the in-flight key was not detected")

    monkeypatch.setattr(items_logic, "create_item", create_while_the_same_key_is_in_flight)

    response = api("POST", "/items", body={"name": "Lamp"}, headers={"Idempotency-Key": "busy"})

    assert seen == [IdempotencyRequestInProgress]
    assert response.status == 409
    assert response.body["error"]["code"] == "idempotency_request_in_progress"
    assert response.headers["Retry-After"] == "1"
    assert table.scan(TableName=IDEMPOTENCY_TABLE_NAME)["Items"] == [], "the failed attempt left no record"
