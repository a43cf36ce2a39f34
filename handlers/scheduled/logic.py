"""The daily digest: count items created in the 24 h before the scheduled time, publish once per day.

Idempotency and the crash-between-marker-and-publish case are described in
:mod:`handlers.shared.aws.digest_store`: claim (conditional put with a lease) -> count -> metric ->
publish -> mark PUBLISHED; a failure before publishing releases the claim and re-raises so the
Lambda retry publishes; a hard crash leaves a claim whose lease ends with the crashed invocation.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from handlers.shared.observability import logger, metrics
from handlers.shared.timeutil import to_iso

if TYPE_CHECKING:
    from handlers.shared.aws.digest_store import DigestStore
    from handlers.shared.aws.events_publisher import EventsPublisher

WINDOW = timedelta(hours=24)
# Seconds added to the invocation's remaining time so a slow clock cannot end a live lease early.
LEASE_MARGIN_SECONDS = 5
METRIC_NAME = "ItemsCreatedLast24h"


def run_digest(
    store: DigestStore,
    publisher: EventsPublisher,
    *,
    scheduled_at: datetime,
    now: datetime,
    run_id: str,
    remaining_millis: int,
) -> dict[str, Any]:
    """Publish the digest of ``scheduled_at``'s day unless it was already published; return a summary."""
    day = scheduled_at.date().isoformat()
    now_seconds = int(now.timestamp())
    lease_until = now_seconds + math.ceil(remaining_millis / 1000) + LEASE_MARGIN_SECONDS
    blocker = store.claim(day, run_id, now=now_seconds, lease_until=lease_until)
    if blocker is not None:
        logger.info("Digest already handled for this day", day=day, status=blocker)
        return {"date": day, "published": False, "reason": blocker}
    window_end = to_iso(scheduled_at)
    window_start = to_iso(scheduled_at - WINDOW)
    try:
        count = store.count_items_created_between(window_start, window_end)
        metrics.add_metric(name=METRIC_NAME, unit="Count", value=count)
        message_id = publisher.publish(
            "DailyDigest",
            {
                "event_type": "DailyDigest",
                "date": day,
                "items_created": count,
                "window_start": window_start,
                "window_end": window_end,
            },
            subject=f"Daily digest {day}",
        )
    except Exception:
        _release(store, day, run_id)
        raise
    if not store.mark_published(day, run_id, message_id=message_id, items_created=count):
        logger.warning("Another run took over the digest while this one published", day=day)
    return {"date": day, "published": True, "items_created": count, "message_id": message_id}


def _release(store: DigestStore, day: str, run_id: str) -> None:
    try:
        store.release(day, run_id)
    except Exception:
        # The lease still ends with this invocation, so the retry is only delayed, not blocked.
        logger.exception("Could not release the digest claim", day=day)
