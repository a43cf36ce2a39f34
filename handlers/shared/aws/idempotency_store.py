"""Idempotent execution of API writes, backed by Powertools idempotency on ``IDEMPOTENCY_TABLE_NAME``.

The table has partition key ``id`` and TTL attribute ``expiration``; records live 24 hours.
Powertools performs the calls with the client from the factory, so the function needs
``IAM_ACTIONS`` on that table (Powertools calls get_item, put_item, update_item and delete_item).

The idempotency key is the hash of (scope, caller, Idempotency-Key): the same key sent to another
route, or by another API key, never collides. The request body is hashed separately
(``payload_validation_jmespath``), so the same key with a different body is rejected instead of
replaying a response that belongs to another request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.shared.aws import clients
from handlers.shared.aws.errors import UNAVAILABLE_RETRY_AFTER, translate
from handlers.shared.exceptions import (
    DependencyError,
    IdempotencyKeyReused,
    IdempotencyRequestInProgress,
    TransientError,
)
from handlers.shared.observability import logger

AWS_SERVICE = "dynamodb"
IAM_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")

EXPIRY_SECONDS = 24 * 3600
KEY_ATTRIBUTE = "id"
EXPIRY_ATTRIBUTE = "expiration"
# Stable prefix of stored keys: renaming the function must not forget the keys already stored.
KEY_PREFIX = "api"


class IdempotencyStore:
    """Runs an operation at most once per idempotency key and replays its recorded outcome."""

    def __init__(self, table_name: str) -> None:
        self._persistence = DynamoDBPersistenceLayer(
            table_name=table_name,
            key_attr=KEY_ATTRIBUTE,
            expiry_attr=EXPIRY_ATTRIBUTE,
            boto3_client=clients.get("dynamodb"),
        )
        self._config = IdempotencyConfig(
            event_key_jmespath="[scope, caller, key]",
            payload_validation_jmespath="request",
            expires_after_seconds=EXPIRY_SECONDS,
            raise_on_no_idempotency_key=True,
            hash_function="sha256",
        )

    def run_once(
        self,
        *,
        scope: str,
        key: str,
        caller: str | None,
        request: Any,
        operation: Callable[[], dict[str, Any]],
        lambda_context: LambdaContext | None = None,
    ) -> dict[str, Any]:
        """Return ``operation()``'s JSON outcome, running it only for the first request with this key.

        Raises IdempotencyKeyReused (same key, other request), IdempotencyRequestInProgress (the
        first request is still running), TransientError/DependencyError (idempotency table failure).
        Exceptions of ``operation`` propagate unchanged and record nothing, so the client may retry.
        """
        if lambda_context is not None:
            # Lets Powertools expire an in-progress record when this invocation times out.
            self._config.register_lambda_context(lambda_context)
        outcome: dict[str, Any] = {}

        def _run(envelope: dict[str, Any]) -> dict[str, Any]:
            outcome["value"] = operation()
            return outcome["value"]

        once = idempotent_function(
            _run,
            data_keyword_argument="envelope",
            persistence_store=self._persistence,
            config=self._config,
            key_prefix=KEY_PREFIX,
        )
        envelope = {"scope": scope, "caller": caller, "key": key, "request": request}
        try:
            result: dict[str, Any] = once(envelope=envelope)
        except IdempotencyValidationError as err:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was already used with a different request body; use a new key"
            ) from err
        except IdempotencyAlreadyInProgressError as err:
            raise IdempotencyRequestInProgress(
                "A request with this Idempotency-Key is still in progress; retry later"
            ) from err
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as err:
            if "value" in outcome:
                # The write happened; only recording its outcome failed. Answering with an error
                # would make the client believe nothing was done.
                logger.warning("Idempotency record not saved after a successful write", exc_info=True)
                return outcome["value"]
            raise _store_error(err) from err
        return result


def _store_error(err: Exception) -> DependencyError:
    cause = err.__cause__
    if isinstance(cause, Exception):
        translated = translate(cause, "dynamodb.idempotency")
        if isinstance(translated, DependencyError):
            return translated
    return TransientError(
        f"idempotency store failed: {type(err).__name__}",
        reason="unavailable",
        retry_after_seconds=UNAVAILABLE_RETRY_AFTER,
    )
