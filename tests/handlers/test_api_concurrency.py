"""Optimistic concurrency: two writers with the same version, exactly one wins."""

from __future__ import annotations

from typing import Any

from tests.handlers.helpers import stored_item


def test_two_updates_of_the_same_version_one_wins_one_conflicts(api: Any, table: Any) -> None:
    item_id = api("POST", "/items", body={"name": "original"}).body["id"]
    # Both clients read version 1 before either writes.
    read_by_alice = api("GET", f"/items/{item_id}").body
    read_by_bob = api("GET", f"/items/{item_id}").body

    alice = api("PUT", f"/items/{item_id}", body={"name": "alice", "version": read_by_alice["version"]})
    bob = api("PUT", f"/items/{item_id}", body={"name": "bob", "version": read_by_bob["version"]})

    assert sorted([alice.status, bob.status]) == [200, 409]
    loser = bob if bob.status == 409 else alice
    assert loser.body["error"]["code"] == "version_conflict"
    record = stored_item(table, f"ITEM#{item_id}", "ITEM")
    assert record is not None
    assert record["name"] == {"S": "alice"}, "the stored item has exactly the winning edit"
    assert record["version"] == {"N": "2"}


def test_the_loser_can_retry_with_the_new_version(api: Any) -> None:
    item_id = api("POST", "/items", body={"name": "original"}).body["id"]
    assert api("PUT", f"/items/{item_id}", body={"name": "first", "version": 1}).status == 200

    current = api("GET", f"/items/{item_id}").body
    retry = api("PUT", f"/items/{item_id}", body={"name": "second", "version": current["version"]})

    assert retry.status == 200
    assert retry.body["version"] == 3
    assert retry.body["name"] == "second"
