"""Serve the deployed API on localhost, after Terraform has deployed the ``local`` workspace.

:func:`start` reads from the emulator what Terraform deployed and returns a running :class:`LocalApi`:

* the api function ``{project}-{workspace}-api`` (alias ``live`` when it exists), invoked through the
  emulator's Lambda Invoke API, so it runs in the emulator's process with its deployed environment;
* the API key: ``api_key`` when given, else the value of the key ``{project}-{workspace}-api-key``
  (``get_api_keys(includeValues=True)``; the only key when there is exactly one);
* the REST API ``{project}-{workspace}-api``, when there is one: its id and its ``INVALID_API_KEY``
  gateway response, so a missing key is answered as the deployed API answers it.

``project`` defaults to ``PROJECT_NAME`` (``serverless-app``), the region to ``DEPLOY_REGION``
(``us-west-2``), the endpoint to ``EMULATOR_ENDPOINT`` (``http://127.0.0.1:4566``), as in ``main.py``.
Missing deployment pieces raise :class:`NotDeployed`. :func:`start_when_deployed` retries in the
background until they exist (``python -m localmode.emulator --api-port``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from handlers.shared.constants import LIVE_ALIAS
from localmode.api_server import FORBIDDEN, ApiServer, Gateway, Preflight, lambda_invoker, repository_routes
from localmode.startup import DEFAULT_ENDPOINT, DEFAULT_LOCAL_API_PORT
from modules.product_defaults import DEFAULT_PROJECT, DEFAULT_REGION, EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY

LOG = logging.getLogger(__name__)
ALIAS = LIVE_ALIAS
API_TIMEOUT_SECONDS = 29  # API Gateway's integration timeout


class NotDeployed(LookupError):
    """The emulator has no api function or API key (yet)."""


@dataclass
class LocalApi:
    """The running API: its URL, the key to send as ``x-api-key``, and the function it calls."""

    url: str
    api_key: str | None
    function_name: str
    server: ApiServer

    @property
    def headers(self) -> dict[str, str]:
        """The headers that authorize a request (``x-api-key``)."""
        return {"x-api-key": self.api_key} if self.api_key else {}

    def stop(self) -> None:
        """Stop serving; the port is free on return."""
        self.server.stop()


def _client(service: str, endpoint: str, region: str, read_timeout: float = 10) -> Any:
    session: Any = boto3.session.Session()  # a fresh session: boto3's default one is not thread-safe
    return session.client(
        service, endpoint_url=endpoint, region_name=region, aws_access_key_id=EMULATOR_ACCESS_KEY_ID,
        aws_secret_access_key=EMULATOR_SECRET_ACCESS_KEY,
        config=Config(connect_timeout=2, read_timeout=read_timeout, retries={"total_max_attempts": 1}))


def _api_function(client: Any, name: str) -> tuple[str, str | None]:
    try:
        client.get_function(FunctionName=name)
    except ClientError as err:
        raise NotDeployed(f"no function {name!r} in the emulator") from err
    aliases = client.list_aliases(FunctionName=name)["Aliases"]
    return name, ALIAS if any(alias["Name"] == ALIAS for alias in aliases) else None


def _api_key(client: Any, name: str) -> tuple[str, str]:
    keys = client.get_api_keys(includeValues=True, limit=500)["items"]
    named = [key for key in keys if key.get("name") == name] or (keys if len(keys) == 1 else [])
    if not named:
        raise NotDeployed(f"no API key {name!r} in the emulator")
    return named[0]["value"], named[0]["id"]


def _rest_api_id(client: Any, name: str) -> str | None:
    return next((api["id"] for api in client.get_rest_apis(limit=500)["items"] if api.get("name") == name), None)


def _deployed_forbidden(client: Any, name: str) -> Callable[[], tuple[int, str]]:
    """The REST API's INVALID_API_KEY answer, looked up until found (Terraform may still be creating it)."""
    found: list[tuple[int, str]] = []

    def lookup() -> tuple[int, str] | None:
        api_id = _rest_api_id(client, name)
        if api_id is None:
            return None
        try:
            response = client.get_gateway_response(restApiId=api_id, responseType="INVALID_API_KEY")
        except ClientError:
            return None
        template = (response.get("responseTemplates") or {}).get("application/json")
        return (int(response.get("statusCode") or 403), template) if template else None

    def answer() -> tuple[int, str]:
        if not found:
            deployed = lookup()
            if deployed is None:
                return FORBIDDEN
            found.append(deployed)
        return found[0]

    return answer


def _static_value(mapping: str) -> str | None:
    """The value of a static response-parameter mapping (``'*'`` -> ``*``); None for other sources."""
    return mapping[1:-1] if len(mapping) >= 2 and mapping[0] == mapping[-1] == "'" else None


def read_preflights(client: Any, api_id: str) -> dict[str, Preflight]:
    """The REST API's CORS preflight answers per resource path: every OPTIONS method with a mock
    integration, answered with its integration response's status and static header mappings."""
    found: dict[str, Preflight] = {}
    for resource in client.get_resources(restApiId=api_id, limit=500)["items"]:
        if "OPTIONS" not in (resource.get("resourceMethods") or {}):
            continue
        try:
            integration = client.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod="OPTIONS")
        except ClientError:
            continue
        if integration.get("type") != "MOCK":
            continue
        for status, response in sorted((integration.get("integrationResponses") or {}).items()):
            headers = [(name.removeprefix("method.response.header."), value)
                       for name, mapping in sorted((response.get("responseParameters") or {}).items())
                       if name.startswith("method.response.header.") and (value := _static_value(mapping)) is not None]
            found[resource["path"]] = (int(status), headers)
            break
    return found


def _deployed_preflights(client: Any, name: str) -> Callable[[str], Preflight | None]:
    """Preflight answers of the REST API, looked up until found (Terraform may still be creating them)."""
    found: dict[str, Preflight] = {}

    def answer(template: str) -> Preflight | None:
        if not found:
            api_id = _rest_api_id(client, name)
            if api_id is not None:
                found.update(read_preflights(client, api_id))
        return found.get(template)

    return answer


def start(endpoint: str | None = None, *, api_port: int = DEFAULT_LOCAL_API_PORT, api_key: str | None = None,
          host: str = "127.0.0.1", project: str | None = None, workspace: str = "local",
          region: str | None = None, verbose: bool = False) -> LocalApi:
    """Serve the deployed api function on ``http://host:api_port`` (0: any free port)."""
    endpoint = endpoint or os.environ.get("EMULATOR_ENDPOINT", DEFAULT_ENDPOINT)
    region = region or os.environ.get("DEPLOY_REGION") or DEFAULT_REGION
    prefix = f"{project or os.environ.get('PROJECT_NAME') or DEFAULT_PROJECT}-{workspace}"
    function_name, qualifier = _api_function(_client("lambda", endpoint, region), f"{prefix}-api")
    apigateway = _client("apigateway", endpoint, region)
    api_key_id = None
    if api_key is None:
        api_key, api_key_id = _api_key(apigateway, f"{prefix}-api-key")
    gateway = Gateway(
        invoke=lambda_invoker(_client("lambda", endpoint, region, API_TIMEOUT_SECONDS + 5), function_name, qualifier),
        routes=repository_routes(), api_key=api_key,
        api_key_id=api_key_id, stage=workspace, forbidden=_deployed_forbidden(apigateway, f"{prefix}-api"),
        preflight=_deployed_preflights(apigateway, f"{prefix}-api"),
        api_id=_rest_api_id(apigateway, f"{prefix}-api") or "local")
    server = ApiServer(gateway, host, api_port, verbose=verbose).start()
    return LocalApi(server.url, api_key, function_name, server)


class _WhenDeployed:
    """Polls until the API is deployed, then serves it (see :func:`start_when_deployed`)."""

    def __init__(self, endpoint: str, stopped: threading.Event, poll_seconds: float, kwargs: dict[str, Any]) -> None:
        self.api: LocalApi | None = None
        self._stopped = stopped
        self._thread = threading.Thread(target=self._run, args=(endpoint, poll_seconds, kwargs), daemon=True)
        self._thread.start()

    def _run(self, endpoint: str, poll_seconds: float, kwargs: dict[str, Any]) -> None:
        while not self._stopped.is_set():
            try:
                self.api = start(endpoint, **kwargs)
            except Exception as err:  # NotDeployed until Terraform is done; anything else is worth a line
                if not isinstance(err, NotDeployed):
                    LOG.warning("API not started yet: %s", err)
                self._stopped.wait(poll_seconds)
                continue
            print(f"API on {self.api.url} (x-api-key: {self.api.api_key})", flush=True)
            return

    def stop(self) -> None:
        """Stop polling, and the API if it was started."""
        self._stopped.set()
        self._thread.join()
        if self.api is not None:
            self.api.stop()


def start_when_deployed(endpoint: str, *, stopped: threading.Event, poll_seconds: float = 1.0,
                        **kwargs: Any) -> _WhenDeployed:
    """Start the API in the background as soon as :func:`start` finds it deployed (arguments as there)."""
    return _WhenDeployed(endpoint, stopped, poll_seconds, kwargs)
