"""The emulator's Lambda runtime: moto's Lambda invocations run the deployed handler in this process.

moto runs Lambda code only in Docker. :func:`install` replaces ``LambdaFunction.invoke``, which every
invocation path of moto reaches (the Invoke API, used by Step Functions tasks too, event source
mappings, SNS, EventBridge), with a call of the function's ``handler`` (imported from this repository;
the deployed zip is not read) with its deployed environment, what the Lambda runtime adds (emulator
endpoint, fake credentials, region, ``AWS_LAMBDA_FUNCTION_NAME``...) and a fake context. An exception
becomes a function error as on AWS (``X-Amz-Function-Error: Unhandled``, payload ``{"errorType": <class
name>, "errorMessage", "requestId", "stackTrace"}``), so Retry/Catch match ``JobValidationError``.

Isolation: handler modules cache settings and clients at import. Each function configuration (name,
handler, environment, code hash) gets a *container*, its own copy of the modules of the handler's
top-level package (``handlers.*``; third-party packages are shared), imported on its first invocation
(cold start, 20-250 ms) and reused. Around each invocation the container's modules are swapped into
``sys.modules`` and its environment into ``os.environ``, then the process's are restored, so lazy
imports and call-time reads see the function's own. Both are process-wide: invocations run one at a
time (one lock; about 1 ms of overhead per warm call). A handler that waits for another invocation (synchronous
Lambda-to-Lambda, a Lambda subscribed to a topic it publishes to) waits for that lock until its
timeout, then gets ``Sandbox.Timedout``. Timeouts are not enforced otherwise (threads cannot be killed).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaBackend, LambdaFunction

from handlers.shared.constants import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY

LOG = logging.getLogger(__name__)
CODE_ROOT = Path(__file__).resolve().parents[1]  # the repository: handler packages are imported from here
# Variables of the developer's shell that must not leak into a function (on AWS they do not exist).
_MASKED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "LAMBDA_TASK_ROOT")

_invocation_lock = threading.Lock()
_invoked = threading.local()  # the (possibly qualified) ARN the current Invoke API call named


class FunctionError(Exception):
    """An error the runtime itself reports, with the Lambda error type (``Runtime.ImportModuleError``)."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass(frozen=True)
class FunctionConfig:
    """What an invocation needs from a deployed function; equal configs share a container."""

    name: str
    handler: str
    environment: tuple[tuple[str, str], ...]
    memory_mb: int
    timeout_seconds: int
    version: str
    region: str
    code_sha256: str

    @classmethod
    def of(cls, fn: LambdaFunction) -> FunctionConfig:
        """Read the configuration of a moto function (or function version)."""
        return cls(fn.function_name, str(fn.handler), tuple(sorted((fn.environment_vars or {}).items())),
                   int(fn.memory_size), int(fn.timeout), str(fn.version), fn.region, str(fn.code_sha_256))


@dataclass
class LambdaContext:
    """The Lambda context object handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float  # time.monotonic() at which the function would time out

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class Container:
    """One execution environment: a function's private copy of its code's modules."""

    def __init__(self, config: FunctionConfig) -> None:
        self.config = config
        self.package = config.handler.split(".", 1)[0]
        self.modules: dict[str, Any] = {}
        self.entry: Callable[[Any, LambdaContext], Any] | None = None

    def _owned(self) -> list[str]:
        prefix = self.package + "."
        # list(): a copy taken at once, as other threads (moto's) may import while this runs
        return [name for name in list(sys.modules) if name == self.package or name.startswith(prefix)]

    @contextmanager
    def active(self, environment: Mapping[str, str | None]) -> Iterator[None]:
        """Swap this container's modules and environment in; restore the process's afterwards."""
        outside = {name: sys.modules.pop(name) for name in self._owned()}
        sys.modules.update(self.modules)
        saved = {name: os.environ.get(name) for name in environment}
        _apply(environment)
        try:
            yield
        finally:
            self.modules = {name: sys.modules.pop(name) for name in self._owned()}
            sys.modules.update(outside)
            _apply(saved)

    def call(self, event: Any, context: LambdaContext) -> Any:
        """Run the handler (importing it first on a cold start); call inside :meth:`active`."""
        if self.entry is None:
            try:
                self.entry = self._cold_start()
            except Exception:
                for name in self._owned():  # a failed init starts from scratch next time, as on AWS
                    del sys.modules[name]
                raise
        return self.entry(event, context)

    def _cold_start(self) -> Callable[[Any, LambdaContext], Any]:
        module_name, _, attribute = self.config.handler.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except (ImportError, SyntaxError) as err:
            raise FunctionError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {err}") from err
        entry = getattr(module, attribute, None)
        if not callable(entry):
            raise FunctionError("Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_name}'")
        return entry


def _apply(environment: Mapping[str, str | None]) -> None:
    for name, value in environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def error_payload(err: BaseException, request_id: str) -> dict[str, Any]:
    """The payload Lambda's Python runtime returns for an exception."""
    frames = traceback.extract_tb(err.__traceback__)
    return {"errorMessage": str(err), "errorType": getattr(err, "error_type", type(err).__name__),
            "requestId": request_id, "stackTrace": traceback.format_list(frames)}


def _failed(err: BaseException, request_id: str) -> tuple[bytes, bool]:
    return json.dumps(error_payload(err, request_id)).encode(), True


class LocalLambdaRuntime:
    """Runs invocations of deployed functions in-process (one container per function configuration)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._containers: dict[FunctionConfig, Container] = {}

    def environment(self, config: FunctionConfig) -> dict[str, str | None]:
        """The function's variables plus what the Lambda runtime sets (None: unset)."""
        runtime = {
            "AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": EMULATOR_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET_ACCESS_KEY,
            "AWS_REGION": config.region, "AWS_DEFAULT_REGION": config.region, "_HANDLER": config.handler,
            "AWS_LAMBDA_FUNCTION_NAME": config.name, "AWS_LAMBDA_FUNCTION_VERSION": config.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "POWERTOOLS_TRACE_DISABLED": "true",  # no X-Ray daemon locally
        }
        return {**dict.fromkeys(_MASKED), **dict(config.environment), **runtime}

    def run(self, config: FunctionConfig, event: Any, invoked_arn: str) -> tuple[bytes, bool]:
        """Invoke once; return (payload, function error?)."""
        request_id = str(uuid.uuid4())
        context = LambdaContext(config.name, config.version, invoked_arn, config.memory_mb, request_id,
                                f"/aws/lambda/{config.name}", f"local/[{config.version}]{request_id}",
                                time.monotonic() + config.timeout_seconds)
        if not _invocation_lock.acquire(timeout=config.timeout_seconds):
            return _failed(FunctionError("Sandbox.Timedout", f"Task timed out after {config.timeout_seconds} "
                                         "seconds waiting for another in-process invocation"), request_id)
        try:
            container = self._containers.setdefault(config, Container(config))
            with container.active(self.environment(config)):
                result = container.call(event, context)
        except Exception as err:
            return _failed(err, request_id)
        finally:
            _invocation_lock.release()
        try:
            return json.dumps(result).encode(), False
        except (TypeError, ValueError) as err:
            return _failed(FunctionError("Runtime.MarshalError", f"Unable to marshal response: {err}"), request_id)


def _header(headers: Any, name: str, default: str) -> str:
    return next((str(value) for key, value in dict(headers or {}).items() if key.lower() == name), default)


def install(endpoint: str) -> Callable[[], None]:
    """Route moto's Lambda invocations to a :class:`LocalLambdaRuntime`; return the undo function."""
    runtime = LocalLambdaRuntime(endpoint)
    original_invoke, original_backend_invoke = LambdaFunction.invoke, LambdaBackend.invoke
    if str(CODE_ROOT) not in sys.path:
        sys.path.insert(0, str(CODE_ROOT))

    def run_async(config: FunctionConfig, event: Any, invoked_arn: str) -> None:
        payload, failed = runtime.run(config, event, invoked_arn)
        if failed:  # no retries or on-failure destination here: at least say so
            LOG.warning("Asynchronous invocation of %s failed: %s", invoked_arn, payload.decode())

    def function_invoke(fn: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        config = FunctionConfig.of(fn)
        event = json.loads(body) if body else {}
        invoked_arn = getattr(_invoked, "arn", None) or fn.function_arn
        invocation_type = _header(request_headers, "x-amz-invocation-type", "RequestResponse")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":  # asynchronous: accepted now, run later, like Lambda's event queue
            threading.Thread(target=run_async, args=(config, event, invoked_arn), daemon=True).start()
            return b""
        payload, failed = runtime.run(config, event, invoked_arn)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    def backend_invoke(backend: LambdaBackend, function_name: str, qualifier: str | None, *args: Any) -> Any:
        arn = function_name if function_name.startswith("arn:") else (
            f"arn:aws:lambda:{backend.region_name}:{backend.account_id}:function:{function_name}")
        _invoked.arn = f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn
        try:
            return original_backend_invoke(backend, function_name, qualifier, *args)
        finally:
            _invoked.arn = None

    LambdaFunction.invoke = function_invoke  # type: ignore[method-assign,assignment]
    LambdaBackend.invoke = backend_invoke  # type: ignore[method-assign,assignment]

    def uninstall() -> None:
        LambdaFunction.invoke = original_invoke  # type: ignore[method-assign]
        LambdaBackend.invoke = original_backend_invoke  # type: ignore[method-assign]

    return uninstall
