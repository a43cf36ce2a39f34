"""API Gateway (REST API, Lambda proxy integration) in front of the api function, on localhost.

Each HTTP request becomes a REST proxy event (payload 1.0) for the api function; the function's proxy
response is returned as it is (status, ``headers`` and ``multiValueHeaders`` merged as API Gateway
does, body, base64 bodies decoded). As API Gateway:

* routes come from :mod:`handlers.api.routes_table` (``ROUTES``, ``PUBLIC_ROUTES``): ``resource`` and
  ``requestContext.resourcePath`` are the matched template, ``pathParameters`` its values;
* a CORS preflight (``OPTIONS``) of a resource the deployed API answers with its mock integration is
  answered with that integration response's status and headers (the configured origin, methods and
  headers, read from the deployed REST API by :mod:`localmode.runtime`), without a key and without
  calling the function, as API Gateway does;
* every route but the public ones and CORS preflights needs the ``x-api-key`` header: a missing or
  wrong key gets 403 ``{"message": "Forbidden"}`` (or the deployed ``INVALID_API_KEY`` gateway
  response, see :mod:`localmode.runtime`) and the function is not called;
* a function error or a malformed proxy response gives 502 ``{"message": "Internal server error"}``;
* a body that is not UTF-8 is sent base64-encoded with ``isBase64Encoded: true``.

One deliberate difference: a path no route matches is still sent to the function (``resource`` is the
path, no ``pathParameters``), after the API key check, so clients see the product's own 404/405 error
shape; API Gateway answers those itself (403 ``Missing Authentication Token``, or the product's
``MISSING_AUTHENTICATION_TOKEN`` gateway response, which has the same 404 shape).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from modules.proxy_event import proxy_event

LOG = logging.getLogger(__name__)
ROUTES_TABLE = Path(__file__).resolve().parents[1] / "handlers" / "api" / "routes_table.py"
Route = tuple[str, str]
Invoker = Callable[[dict[str, Any]], dict[str, Any]]  # proxy event -> proxy response; raises on function error
Preflight = tuple[int, list[tuple[str, str]]]  # status and headers of a mock OPTIONS integration response
FORBIDDEN = (403, '{"message": "Forbidden"}')
BAD_GATEWAY = (502, '{"message": "Internal server error"}')


class InvocationFailed(Exception):
    """The function failed (function error, or no valid proxy response)."""


class RouteTable:
    """API Gateway resource templates (``/items/{id}``, ``/files/{proxy+}``) matched against paths."""

    def __init__(self, routes: Iterable[Route], public: Iterable[Route] = ()) -> None:
        self.public = frozenset(public)
        templates = sorted({path for _, path in routes}, key=lambda t: (t.count("{"), -len(t)))
        self._patterns = [(template, re.compile(_regex(template))) for template in templates]

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        """The template (static ones win) and path parameters of ``path``, or None."""
        for template, pattern in self._patterns:
            found = pattern.fullmatch(path)
            if found:
                names = [name.rstrip("+") for name in re.findall(r"\{([^}]+)\}", template)]
                return template, {name: unquote(found.group(index + 1)) for index, name in enumerate(names)}
        return None

    def is_public(self, method: str, template: str | None) -> bool:
        """Whether a request needs no API key: a public route, or a CORS preflight of a known resource
        (the deployed API answers those with a keyless mock integration; here the function answers)."""
        return template is not None and (method == "OPTIONS" or (method, template) in self.public)


def repository_routes(path: Path = ROUTES_TABLE) -> RouteTable:
    """The routes of ``handlers/api/routes_table.py``.

    Loaded from its file under a private name: importing ``handlers`` here would put a copy of the
    package in ``sys.modules`` next to the functions' own copies (see :mod:`localmode.lambda_runtime`).
    """
    spec = importlib.util.spec_from_file_location("_localmode_routes_table", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return RouteTable(module.ROUTES, module.PUBLIC_ROUTES)


def _regex(template: str) -> str:
    pieces = re.split(r"(\{[^}]+\})", template)
    return "".join(("(.+)" if p.endswith("+}") else "([^/]+)") if p.startswith("{") else re.escape(p) for p in pieces)


@dataclass
class Gateway:
    """What the HTTP server needs: the function, the routes, the key and the stage."""

    invoke: Invoker
    routes: RouteTable
    api_key: str | None  # None: no key is checked
    api_key_id: str | None = None
    stage: str = "local"
    # status and body of the answer to a missing or wrong key ("$context.requestId" is substituted)
    forbidden: Callable[[], tuple[int, str]] = lambda: FORBIDDEN
    api_id: str = "local"
    account_id: str = "123456789012"
    # the deployed answer to OPTIONS on a resource template, None when it has no mock preflight
    preflight: Callable[[str], Preflight | None] = lambda _template: None
    _key_id: str = field(init=False, default="")

    def __post_init__(self) -> None:
        digest = hashlib.sha256((self.api_key or "").encode()).hexdigest()[:10]
        self._key_id = self.api_key_id or f"local-{digest}"

    def event(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
              source_ip: str) -> tuple[dict[str, Any], bool]:
        """The proxy event for a request, and whether the API key check passed."""
        parts = urlsplit(target)
        path = unquote(parts.path) or "/"
        matched = self.routes.match(parts.path or "/")  # before decoding: an encoded "/" stays in its segment
        template, parameters = matched if matched else (None, {})
        single = dict(headers)  # the last value of a repeated name
        sent_key = _find(single, "x-api-key")
        authorized = self.routes.is_public(method, template) or self.api_key is None or sent_key == self.api_key
        keyed = authorized and sent_key == self.api_key
        text, encoded = _body(body)
        now = time.time()
        request_id = str(uuid.uuid4())
        resource = template or path
        event = proxy_event(
            method, path, resource=resource, path_parameters=parameters, headers=headers,
            query=parse_qsl(parts.query, keep_blank_values=True), body=text, is_base64_encoded=encoded,
            stage=self.stage, request_id=request_id, source_ip=source_ip,
            request_context={
                "resourceId": hashlib.sha1(resource.encode()).hexdigest()[:6], "extendedRequestId": request_id,
                "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "requestTimeEpoch": int(now * 1000), "accountId": self.account_id, "protocol": "HTTP/1.1",
                "domainPrefix": "localhost", "apiId": self.api_id, "domainName": _find(single, "host") or "localhost"},
            identity={"apiKey": sent_key if keyed else None, "apiKeyId": self._key_id if keyed else None,
                      "accountId": None, "caller": None, "user": None, "userArn": None, "accessKey": None,
                      "cognitoIdentityPoolId": None, "cognitoIdentityId": None,
                      "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None})
        return event, authorized

    def handle(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
               source_ip: str) -> tuple[int, list[tuple[str, str]], bytes]:
        """Answer one request: (status, headers, body)."""
        event, authorized = self.event(method, target, headers, body, source_ip)
        request_id = event["requestContext"]["requestId"]
        preflight = self.preflight(event["resource"]) if method == "OPTIONS" else None
        if preflight is not None:
            status, answer_headers = preflight
            return status, [*answer_headers, ("Content-Type", "application/json"),
                            ("x-amzn-RequestId", request_id)], b""
        if not authorized:
            status, template = self.forbidden()
            return _json_answer(status, template.replace("$context.requestId", request_id), request_id)
        try:
            return _proxy_answer(self.invoke(event), request_id)
        except InvocationFailed as err:
            LOG.warning("%s %s: the api function failed: %s", method, target, err)
        except Exception:
            LOG.exception("%s %s: the api function could not be invoked", method, target)
        return _json_answer(*BAD_GATEWAY, request_id)


def _find(headers: dict[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name), None)


def _body(raw: bytes) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def _json_answer(status: int, body: str, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)], body.encode()


def _proxy_answer(response: Any, request_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """Turn a Lambda proxy response into (status, headers, body), as API Gateway does."""
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        raise InvocationFailed("the function returned no proxy response")
    multi = {name: [str(v) for v in values] for name, values in (response.get("multiValueHeaders") or {}).items()}
    headers = [(name, value) for name, values in multi.items() for value in values]
    headers += [(name, str(value)) for name, value in (response.get("headers") or {}).items() if name not in multi]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    headers.append(("x-amzn-RequestId", request_id))
    body = response.get("body") or ""
    try:
        raw = base64.b64decode(body, validate=True) if response.get("isBase64Encoded") else str(body).encode()
    except ValueError as err:
        raise InvocationFailed("isBase64Encoded is true but the body is not base64") from err
    return response["statusCode"], headers, raw


class _RequestHandler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, a client that keeps the
    # connection open (browsers, HTTP sessions) waited for its delayed ACK, about 40 ms a response.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, payload = self.server.gateway.handle(
            self.command, self.path, list(self.headers.items()), body, self.client_address[0])
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    # Every method reaches the handler (unsupported ones get its 405), never the standard
    # library's 501 page: the base class looks up `do_<METHOD>` for whatever method arrives.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's signature)
        if self.server.verbose:
            super().log_message(format, *args)


class ApiServer(ThreadingHTTPServer):
    """The HTTP server; :meth:`start` serves in a background thread, :meth:`stop` frees the port."""

    daemon_threads = True

    def __init__(self, gateway: Gateway, host: str = "127.0.0.1", port: int = 8080, *, verbose: bool = False) -> None:
        super().__init__((host, port), _RequestHandler)
        self.gateway, self.verbose = gateway, verbose
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the server."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ApiServer:
        """Serve in a daemon thread; return self."""
        self._thread = threading.Thread(target=self.serve_forever, name="local-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()


def lambda_invoker(client: Any, function_name: str, qualifier: str | None = None) -> Invoker:
    """An :data:`Invoker` calling a function through the Lambda Invoke API (``client``: boto3 lambda)."""

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        extra = {"Qualifier": qualifier} if qualifier else {}
        response = client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode(), **extra)
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            raise InvocationFailed(payload.decode("utf-8", "replace"))
        try:
            result = json.loads(payload) if payload else None
        except ValueError as err:
            raise InvocationFailed("the function returned no JSON") from err
        if not isinstance(result, dict):
            raise InvocationFailed("the function returned no proxy response")
        return result

    return invoke
