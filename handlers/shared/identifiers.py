"""Resource identifiers: new ids are UUID4; UUIDs of any version and ULIDs are accepted."""

from __future__ import annotations

import re
import uuid

from handlers.shared.exceptions import InvalidIdError

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Crockford base32 without I, L, O, U; the first character is at most 7 (48-bit timestamp).
_ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$")

def new_id() -> str:
    """Return a new random identifier (UUID4, lower case)."""
    return str(uuid.uuid4())


def is_valid_id(raw: str) -> bool:
    """Tell whether ``raw`` is a UUID or a ULID."""
    return bool(_UUID.match(raw) or _ULID.match(raw))


def parse_id(raw: str) -> str:
    """Return the canonical form of an id (UUID lower case, ULID upper case) or raise InvalidIdError.

    Canonicalising means ``/items/ABC...`` and ``/items/abc...`` name the same item.
    """
    if _UUID.match(raw):
        return raw.lower()
    if _ULID.match(raw):
        return raw.upper()
    shown = raw if len(raw) <= 60 else raw[:60] + "..."
    raise InvalidIdError(f"{shown!r} is not a valid id: expected a UUID or a ULID")
