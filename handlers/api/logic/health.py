"""Health check use case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers.shared.exceptions import DomainError
from handlers.shared.observability import logger

if TYPE_CHECKING:
    from handlers.shared.aws.table_probe import TableProbe


def check_health(table: TableProbe) -> dict[str, str]:
    """Return each dependency's state, ``ok`` or ``unavailable`` (details go to the logs only)."""
    checks = {}
    try:
        table.check()
        checks["table"] = "ok"
    except DomainError:
        logger.warning("Health check: table unavailable", exc_info=True)
        checks["table"] = "unavailable"
    return checks
