"""Logger, Tracer and Metrics, created once per container and shared by every module.

Service name, log level and metrics namespace come from Powertools' own environment variables
(``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_LOG_LEVEL``, ``POWERTOOLS_METRICS_NAMESPACE``), which the
settings models validate at cold start.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer

F = TypeVar("F", bound=Callable[..., Any])

_TRUTHY = {"1", "true", "yes", "on", "y", "t"}


def tracing_enabled() -> bool:
    """Apply Powertools' own rule: trace only inside Lambda, unless POWERTOOLS_TRACE_DISABLED is truthy."""
    if os.getenv("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in _TRUTHY:
        return False
    if os.getenv("AWS_SAM_LOCAL") or os.getenv("AWS_CHALICE_CLI_MODE"):
        return False
    return bool(os.getenv("LAMBDA_TASK_ROOT"))


class DisabledTracer:
    """Stand-in for :class:`Tracer` when tracing is off.

    Powertools' Tracer imports the whole X-Ray SDK even when it is disabled, which costs more than
    creating a boto3 client; when nothing will be traced that import buys nothing.
    """

    disabled = True

    def capture_lambda_handler(self, lambda_handler: F) -> F:
        """Return the handler unchanged."""
        return lambda_handler

    def capture_method(self, method: F) -> F:
        """Return the method unchanged."""
        return method

    def put_annotation(self, key: str, value: Any) -> None:
        """Ignore the annotation."""

    def put_metadata(self, key: str, value: Any, namespace: str | None = None) -> None:
        """Ignore the metadata."""


logger = Logger()
metrics = Metrics()
# Only botocore is patched: it is the one library these functions use for I/O.
tracer: Tracer | DisabledTracer = Tracer(patch_modules=["botocore"]) if tracing_enabled() else DisabledTracer()
