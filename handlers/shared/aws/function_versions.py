"""Synchronous invocations of published function versions (the pre-traffic hook's smoke checks).

Operation: Invoke (IAM action lambda:InvokeFunction), only on the functions the hook has a
smoke check for: any other name is refused before a call is made.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from handlers.shared.aws import clients
from handlers.shared.aws.errors import aws_call

AWS_SERVICE = "lambda"


@dataclass(frozen=True)
class Invocation:
    """What a function version answered: its payload (parsed JSON, or the raw text) and, when
    the function failed, Lambda's error kind (X-Amz-Function-Error) and the error's type."""

    payload: Any
    function_error: str | None

    @property
    def error_type(self) -> str | None:
        if self.function_error is None:
            return None
        return self.payload.get("errorType") if isinstance(self.payload, dict) else self.function_error


class UnknownFunction(Exception):
    """A function the hook has no smoke check for."""


class FunctionVersions:
    """Invokes published versions of a fixed set of functions."""

    def __init__(self, checked_functions: Mapping[str, object]) -> None:
        self._functions = frozenset(checked_functions)

    @property
    def _client(self) -> Any:
        return clients.get("lambda")

    def invoke(self, name: str, version: str, event: Mapping[str, Any],
               client_context: Mapping[str, str]) -> Invocation:
        """Invoke `name:version` synchronously with `event`; `client_context` reaches the
        function as context.client_context.custom (it tells a check from real traffic)."""
        if name not in self._functions:
            raise UnknownFunction(f"no smoke check for function {name!r}")
        context = base64.b64encode(json.dumps({"custom": dict(client_context)}).encode()).decode()
        with aws_call("lambda.Invoke"):
            response = self._client.invoke(FunctionName=name, Qualifier=version, InvocationType="RequestResponse",
                                           Payload=json.dumps(dict(event)).encode(), ClientContext=context)
        raw = response["Payload"].read().decode("utf-8", errors="replace")
        try:
            payload: Any = json.loads(raw) if raw else None
        except ValueError:
            payload = raw
        return Invocation(payload, response.get("FunctionError"))
