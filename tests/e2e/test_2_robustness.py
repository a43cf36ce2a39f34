"""Robustness of the deployed API: schemathesis against the exported OpenAPI document, and a
Hypothesis stateful test of create/update/delete against an in-memory model."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from handlers.api.openapi import openapi_json

pytestmark = pytest.mark.e2e

schema = schemathesis.openapi.from_dict(json.loads(openapi_json()))
CALLS = {"count": 0}
MIN_GENERATED_REQUESTS = 1000


@schema.parametrize()
@settings(max_examples=250, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_5xx_and_conform(case, local_backend):
    response = case.call(base_url=local_backend.url, session=local_backend.session, headers=local_backend.headers,
                         timeout=60)
    CALLS["count"] += 1
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def test_enough_requests_were_generated():
    # Runs after the generated tests above (pytest keeps a module's definition order): the bound the
    # robustness claim rests on.
    assert CALLS["count"] >= MIN_GENERATED_REQUESTS, CALLS


names = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N"]), min_size=1, max_size=30)


class ItemsAgainstModel(RuleBasedStateMachine):
    """The API keeps exactly the items the model says exist: nothing lost, nothing phantom."""

    items = Bundle("items")
    # Items still alive across every generated run: what a final listing must show.
    live: dict[str, dict] = {}
    run_id = "unset"
    backend = None

    def __init__(self) -> None:
        super().__init__()
        self.model: dict[str, dict] = {}

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        assert self.backend is not None
        return self.backend.request(method, path, **kwargs)

    @rule(target=items, name=names)
    def create(self, name):
        response = self.call("POST", "/items", json={"name": name, "tags": [f"sm-{self.run_id}"]})
        assert response.status_code == 201
        item = response.json()
        self.model[item["id"]] = self.live[item["id"]] = item
        return item["id"]

    @rule(item_id=items, name=names)
    def update(self, item_id, name):
        version = self.model.get(item_id, {}).get("version", 1)
        response = self.call("PUT", f"/items/{item_id}",
                             json={"name": name, "version": version, "tags": [f"sm-{self.run_id}"]})
        if item_id in self.model:
            assert response.status_code == 200
            self.model[item_id] = self.live[item_id] = response.json()
        else:
            assert response.status_code == 404

    @rule(item_id=consumes(items))
    def delete(self, item_id):
        response = self.call("DELETE", f"/items/{item_id}")
        assert response.status_code == (204 if item_id in self.model else 404)
        self.model.pop(item_id, None)
        self.live.pop(item_id, None)

    @invariant()
    def every_modelled_item_is_stored_as_modelled(self):
        for item_id, item in self.model.items():
            stored = self.call("GET", f"/items/{item_id}")
            assert stored.status_code == 200 and stored.json() == item


def test_stateful_items_match_the_model(local_backend):
    run_id = uuid.uuid4().hex[:8]

    class Machine(ItemsAgainstModel):
        backend = local_backend
        live: dict[str, dict] = {}

    Machine.run_id = run_id
    Machine.TestCase.settings = settings(max_examples=15, stateful_step_count=12, deadline=None, database=None,
                                         derandomize=True, suppress_health_check=list(HealthCheck))
    Machine.TestCase().runTest()
    # No phantom items: listing finds exactly the modelled items of this run.
    listed, cursor = [], None
    while True:
        page = local_backend.request("GET", "/items", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        body = page.json()
        listed += [i for i in body["items"] if f"sm-{run_id}" in i["tags"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(listed) == len({i["id"] for i in listed})  # nothing twice
    assert {i["id"]: i for i in listed} == Machine.live  # nothing lost, nothing phantom
