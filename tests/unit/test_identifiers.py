"""Identifiers: UUIDs and ULIDs accepted and canonicalised, anything else rejected."""

from __future__ import annotations

import uuid

import pytest

from handlers.shared.exceptions import InvalidIdError
from handlers.shared.identifiers import is_valid_id, new_id, parse_id


def test_new_ids_are_uuid4() -> None:
    value = new_id()

    assert uuid.UUID(value).version == 4
    assert value == value.lower()


def test_uuid_is_canonicalised_to_lower_case() -> None:
    assert parse_id("0B0A1C4E-1D2F-4A3B-8C4D-5E6F7A8B9C0D") == "0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0d"


def test_ulid_is_accepted_and_canonicalised_to_upper_case() -> None:
    assert parse_id("01arz3ndektsv4rrffq69g5fav") == "01ARZ3NDEKTSV4RRFFQ69G5FAV"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "nope",
        "0b0a1c4e1d2f4a3b8c4d5e6f7a8b9c0d",  # UUID without dashes
        "0b0a1c4e-1d2f-4a3b-8c4d-5e6f7a8b9c0",  # one digit short
        "81ARZ3NDEKTSV4RRFFQ69G5FAV",  # ULID timestamp overflow
        "01ARZ3NDEKTSV4RRFFQ69G5FAI",  # I is not Crockford base32
        "../../etc/passwd",
        "x" * 500,
    ],
)
def test_malformed_ids_are_rejected_with_a_clear_message(raw: str) -> None:
    with pytest.raises(InvalidIdError, match="not a valid id: expected a UUID or a ULID"):
        parse_id(raw)
    assert not is_valid_id(raw)
