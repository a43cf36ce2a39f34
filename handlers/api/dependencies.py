"""Composition root of the API: settings and adapters, each built once per container on first use.

Routes ask for what they need (``items_repository()``...), so a GET never creates the Step
Functions client and a request without Idempotency-Key never loads the idempotency machinery.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from handlers.shared.aws import clients
from handlers.shared.aws.items_repository import ItemsRepository
from handlers.shared.aws.jobs_repository import JobsRepository
from handlers.shared.aws.table_probe import TableProbe
from handlers.shared.aws.workflow_starter import WorkflowStarter
from handlers.shared.settings import ApiEnvironment, load_settings

if TYPE_CHECKING:
    from handlers.shared.aws.idempotency_store import IdempotencyStore


@cache
def settings() -> ApiEnvironment:
    """The validated environment of the API function."""
    return load_settings(ApiEnvironment)


@cache
def items_repository() -> ItemsRepository:
    """Item data access."""
    return ItemsRepository(settings().table_name)


@cache
def jobs_repository() -> JobsRepository:
    """Job data access."""
    return JobsRepository(settings().table_name)


@cache
def workflow_starter() -> WorkflowStarter:
    """Starts the job workflow."""
    return WorkflowStarter(settings().state_machine_arn)


@cache
def table_probe() -> TableProbe:
    """Health probe of the table."""
    return TableProbe(settings().table_name)


@cache
def idempotency_store() -> IdempotencyStore:
    """Powertools idempotency on the idempotency table (imported on first keyed request only)."""
    from handlers.shared.aws.idempotency_store import IdempotencyStore

    return IdempotencyStore(settings().idempotency_table_name)


def warm_up() -> None:
    """Create at init what every request needs: validated settings and the DynamoDB client."""
    settings()
    clients.get("dynamodb")


def reset() -> None:
    """Forget everything built so far (tests: a fresh container)."""
    for factory in (settings, items_repository, jobs_repository, workflow_starter, table_probe, idempotency_store):
        factory.cache_clear()
