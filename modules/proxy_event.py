"""API Gateway proxy events: the event a function behind the API receives (REST API proxy integration;
HTTP API payload format 1.0 has the same shape).

The one builder of them, used by the catalog's smoke check of the api function (its event reaches the
pre-traffic hook through the hook's ``SMOKE_CHECKS`` variable, so the hook's zip needs no builder), the
local API server (``localmode/api_server.py``) and the handler tests (``tests/handlers/helpers.py``).
What every event carries is built here: the route (``resource``, ``pathParameters``), single- and
multi-value headers and query parameters (a repeated name: its last value in the single-value map),
the body, and the request context's core (``resourcePath``, ``httpMethod``, ``path``, ``stage``,
``requestId``, ``identity.sourceIp``/``userAgent``). Callers add what only they know (API and account
ids, request times, the API key's id) with ``request_context`` and ``identity``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

Pairs = Mapping[str, str] | Iterable[tuple[str, str]]


def _grouped(pairs: Pairs) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs.items() if isinstance(pairs, Mapping) else pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def proxy_event(method: str, path: str, *, stage: str, request_id: str, source_ip: str,
                resource: str | None = None, path_parameters: Mapping[str, str] | None = None,
                headers: Pairs = (), query: Pairs = (), body: str | None = None, is_base64_encoded: bool = False,
                context_path: str | None = None, request_context: Mapping[str, Any] | None = None,
                identity: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The proxy event of ``method path`` (``resource``: the matched route template, default ``path``;
    ``context_path``: ``requestContext.path``, default ``/{stage}{path}`` as API Gateway sends it)."""
    multi_headers, multi_query = _grouped(headers), _grouped(query)
    single_headers = {name: values[-1] for name, values in multi_headers.items()}
    user_agent = next((value for name, value in single_headers.items() if name.lower() == "user-agent"), None)
    resource = resource or path
    return {
        "resource": resource, "path": path, "httpMethod": method,
        "headers": single_headers or None, "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": dict(path_parameters or {}) or None, "stageVariables": None,
        "body": body, "isBase64Encoded": is_base64_encoded,
        "requestContext": {
            "resourcePath": resource, "httpMethod": method, "path": context_path or f"/{stage}{path}",
            "stage": stage, "requestId": request_id,
            "identity": {"sourceIp": source_ip, "userAgent": user_agent, **(identity or {})},
            **(request_context or {}),
        },
    }
