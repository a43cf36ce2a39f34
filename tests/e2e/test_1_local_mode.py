"""End to end: the `local` workspace deployed by real Terraform into the emulator, then
used over HTTP. The e2e files run in the order of their numbers; test_2 destroys."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from localmode import stream_mapping

pytestmark = pytest.mark.e2e


def wait_for(check, timeout: float = 60.0, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def test_health_needs_no_key(local_backend):
    response = local_backend.request("GET", "/health", headers={"x-api-key": ""})
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_missing_or_wrong_api_key_is_403(local_backend, key):

    headers = {"x-api-key": key} if key else {}
    response = local_backend.session.get(f"{local_backend.url}/items", headers=headers, timeout=30)
    assert response.status_code == 403


def test_item_crud_with_version_conflict(local_backend):
    created = local_backend.request("POST", "/items", json={"name": "first", "tags": ["a"]})
    assert created.status_code == 201
    item = created.json()
    assert created.headers["Location"] == f"/items/{item['id']}"
    assert item["version"] == 1
    fetched = local_backend.request("GET", f"/items/{item['id']}")
    assert fetched.status_code == 200 and fetched.json() == item
    updated = local_backend.request("PUT", f"/items/{item['id']}", json={"name": "second", "version": 1})
    assert updated.status_code == 200 and updated.json()["version"] == 2
    stale = local_backend.request("PUT", f"/items/{item['id']}", json={"name": "third", "version": 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "version_conflict"
    assert local_backend.request("GET", f"/items/{item['id']}").json()["name"] == "second"
    assert local_backend.request("DELETE", f"/items/{item['id']}").status_code == 204
    missing = local_backend.request("GET", f"/items/{item['id']}")
    assert missing.status_code == 404 and missing.json()["error"]["request_id"]


# Text prod's web ACL only counts (its Core rule set body rules; docs/aws-semantics.md,
# "What prod's web ACL refuses"): markup, path traversal, URLs and the metadata address are an
# ordinary item description in every workspace, stored and returned as the client sent them.
TEXT_THE_WEB_ACL_COUNTS = ("<b>bold</b> <script>alert(1)</script> see ../../etc/passwd, "
                           "https://example.com/a?b=1 and http://169.254.169.254/latest/meta-data/")


def test_item_text_the_web_acl_only_counts_is_accepted(local_backend):
    created = local_backend.request("POST", "/items", json={"name": "<i>markup</i> ../name",
                                                            "description": TEXT_THE_WEB_ACL_COUNTS})
    assert created.status_code == 201
    fetched = local_backend.request("GET", created.headers["Location"]).json()
    assert (fetched["name"], fetched["description"]) == ("<i>markup</i> ../name", TEXT_THE_WEB_ACL_COUNTS)


def test_pagination_returns_every_item_once(local_backend):
    names = {f"page-{uuid.uuid4().hex[:8]}" for _ in range(7)}
    for name in names:
        assert local_backend.request("POST", "/items", json={"name": name}).status_code == 201
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = local_backend.request("GET", "/items", params=params).json()
        assert len(page["items"]) <= 3
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert names <= set(seen)
    assert len(seen) == len(set(seen))


def test_idempotency_key_replays_and_rejects_other_bodies(local_backend):
    key = str(uuid.uuid4())
    body = {"name": f"idem-{key[:8]}"}
    first = local_backend.request("POST", "/items", json=body, headers={"Idempotency-Key": key})
    second = local_backend.request("POST", "/items", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    other = local_backend.request("POST", "/items", json={"name": "another"}, headers={"Idempotency-Key": key})
    assert other.status_code in (409, 422)
    listed = local_backend.request("GET", "/items", params={"limit": 100}).json()["items"]
    assert [i["name"] for i in listed].count(body["name"]) == 1


def test_unknown_route_is_404_in_the_error_shape(local_backend):
    response = local_backend.request("GET", "/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def job_status(local_backend, location: str, wanted: set[str]):
    def check():
        job = local_backend.request("GET", location).json()
        return job if job["status"] in wanted else None

    return wait_for(check, timeout=90)


def test_job_runs_through_the_deployed_workflow_to_completed(local_backend):
    created = local_backend.request("POST", "/jobs", json={"payload": {"items": [1, 2, 3.5], "operation": "sum"}})
    assert created.status_code == 202 and created.json()["status"] == "PENDING"
    job = job_status(local_backend, created.headers["Location"], {"COMPLETED", "FAILED"})
    assert job and job["status"] == "COMPLETED", job
    assert job["result"]["value"] == 6.5


def test_invalid_payload_reaches_failed_with_the_error(local_backend):
    created = local_backend.request("POST", "/jobs", json={"payload": {"items": []}})
    assert created.status_code == 202
    job = job_status(local_backend, created.headers["Location"], {"COMPLETED", "FAILED"})
    assert job and job["status"] == "FAILED", job
    assert job["error"]["code"] == "JobValidationError"
    sfn = local_backend.client("stepfunctions")
    machine = next(m for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith("-local-jobs"))
    executions = sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    assert {e["status"] for e in executions} >= {"SUCCEEDED", "FAILED"}


def test_table_write_makes_the_stream_consumer_publish(local_backend):
    sns, sqs = local_backend.client("sns"), local_backend.client("sqs")
    topic = next(t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith("-local-events"))
    queue_url = sqs.create_queue(QueueName=f"e2e-events-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    name = f"streamed-{uuid.uuid4().hex[:8]}"
    item = local_backend.request("POST", "/items", json={"name": name}).json()
    assert stream_mapping.wait_idle(30)

    def received():
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]

    bodies = wait_for(received, timeout=30)
    assert any(b.get("item", {}).get("id") == item["id"] or item["id"] in json.dumps(b) for b in bodies), bodies
