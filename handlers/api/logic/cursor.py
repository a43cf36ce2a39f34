"""Opaque pagination cursors.

A cursor is base64url (no padding) of ``{"v": 1, "t": <created_at>, "i": <id>}``: the position of
the last item of a page. It is validated strictly and the DynamoDB start key is rebuilt from the
two values, so a tampered or foreign cursor is a 400 ``invalid_cursor``, never a 500, and never
reaches DynamoDB as an arbitrary key. It carries no secret and needs no signature: forging one
only lets a client start the public, newest-first listing at another position.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from handlers.shared.exceptions import InvalidCursorError
from handlers.shared.identifiers import is_valid_id, parse_id
from handlers.shared.timeutil import from_iso, to_iso

CURSOR_VERSION = 1
MAX_CURSOR_LENGTH = 256
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")


def encode_cursor(created_at: str, item_id: str) -> str:
    """Return the cursor that resumes a listing after the item (created_at, item_id)."""
    document = json.dumps({"v": CURSOR_VERSION, "t": created_at, "i": item_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    """Return (created_at, item_id) from a cursor issued by :func:`encode_cursor`, or raise InvalidCursorError."""
    if len(cursor) > MAX_CURSOR_LENGTH or not _BASE64URL.match(cursor):
        raise InvalidCursorError("cursor is malformed; use the next_cursor value of a previous page")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
    except (binascii.Error, ValueError) as err:
        raise InvalidCursorError("cursor is malformed; use the next_cursor value of a previous page") from err
    if not isinstance(document, dict) or set(document) != {"v", "t", "i"} or document["v"] != CURSOR_VERSION:
        raise InvalidCursorError("cursor was not issued by this API")
    created_at, item_id = document["t"], document["i"]
    if not isinstance(created_at, str) or not isinstance(item_id, str) or not is_valid_id(item_id):
        raise InvalidCursorError("cursor was not issued by this API")
    try:
        canonical_time = to_iso(from_iso(created_at))
    except ValueError as err:
        raise InvalidCursorError("cursor was not issued by this API") from err
    if canonical_time != created_at or parse_id(item_id) != item_id:
        raise InvalidCursorError("cursor was not issued by this API")
    return created_at, item_id
