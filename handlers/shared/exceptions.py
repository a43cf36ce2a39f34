"""Domain exceptions shared by logic and data access.

Adapters translate AWS errors into these; the API maps them to HTTP in one module
(:mod:`handlers.api.errors`) and Step Functions matches the class names of the ones the workflow
tasks raise (``JobValidationError``, ``TransientError``, ``JobStateConflict``).
Messages of client errors are safe to show to a client; dependency errors carry internal detail
that must only be logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from handlers.shared.models import Job


class DomainError(Exception):
    """Base class of every error this service raises on purpose."""


class InvalidIdError(DomainError):
    """An identifier in a path is neither a UUID nor a ULID."""


class InvalidCursorError(DomainError):
    """A pagination cursor was not issued by this API, or was altered."""


class ItemNotFound(DomainError):
    """No item with this id."""


class ItemAlreadyExists(DomainError):
    """A create collided with an existing item id (never overwritten)."""


class VersionConflict(DomainError):
    """The item changed since the version the client sent."""


class JobNotFound(DomainError):
    """No job with this id."""


class PayloadTooLarge(DomainError):
    """A job payload exceeds the serialized size limit."""


class IdempotencyKeyReused(DomainError):
    """The same Idempotency-Key was sent with a different request body."""


class IdempotencyRequestInProgress(DomainError):
    """A request with the same Idempotency-Key is still being processed."""


class JobValidationError(DomainError):
    """A job payload breaks the processing rules; Step Functions catches it by name."""


class JobStateConflict(DomainError):
    """A job status transition is not allowed from its current status (e.g. leaving COMPLETED).

    ``current`` is the stored job when the store returned it, so callers can tell a retry of a step
    that already happened from a real conflict without another read.
    """

    def __init__(self, message: str, *, current: Job | None = None) -> None:
        super().__init__(message)
        self.current = current


class DependencyError(DomainError):
    """An AWS call failed in a way a retry will not fix (permissions, missing resource, bad request)."""


class TransientError(DependencyError):
    """An AWS call was throttled, hit a 5xx or timed out: retrying later may succeed.

    Adapters raise this exact class (no subclasses) so Step Functions can match ``TransientError``
    in a Retry block by name.
    """

    def __init__(self, message: str, *, reason: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds


class JobStartFailed(DomainError):
    """The workflow could not be started; the job was marked FAILED."""

    def __init__(self, message: str, *, retry_after_seconds: int = 5) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
