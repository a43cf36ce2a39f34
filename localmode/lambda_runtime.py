"""The emulator's Lambda runtime: moto's Lambda invocations run the deployed code in this process.

moto runs Lambda code only in Docker. :func:`install` replaces ``LambdaFunction.invoke``, which every
invocation path of moto reaches (the Invoke API, used by Step Functions tasks too, event source
mappings, SNS, EventBridge), with a call of the function's ``handler``, imported from the code of the
function *version* invoked, with its deployed environment, what the Lambda runtime adds (emulator
endpoint, fake credentials, region, ``AWS_LAMBDA_FUNCTION_NAME``...) and a fake context (with the
Invoke's ``ClientContext`` as ``context.client_context``). An exception becomes a function error as on
AWS (``X-Amz-Function-Error: Unhandled``, payload ``{"errorType": <class name>, "errorMessage",
"requestId", "stackTrace"}``), so Retry/Catch match ``JobValidationError``. moto's Invoke ignores the
API's ``Qualifier`` query parameter (it reads ``qualifier``); :mod:`localmode.moto_patches.lambda_` passes it on, so
``Invoke(FunctionName=name, Qualifier="4")`` runs version 4, not ``$LATEST``.

Code: the version's deployed zip (moto keeps it as ``LambdaFunction.code_bytes``; a published version
keeps the code it was published with) is extracted once per code hash into a directory the runtime owns
(removed on uninstall). While the function's container is active that directory comes first on
``sys.path``, so the zip's handler package is the one imported: after a rollback the alias's older
version runs its older code, whatever the working tree holds. Third-party packages (the dependencies
layer) are shared from this process, not read from the layer. A zip without the handler's module fails
as on AWS (``Runtime.ImportModuleError``): there is no fallback to the repository's code. Only a
:class:`FunctionConfig` made without a code directory (the runtime's own unit tests) imports from this
process's ``sys.path``.

Isolation: handler modules cache settings and clients at import. Each function configuration (name,
handler, environment, code hash) gets a *container*, its own copy of the modules of the handler's
top-level package (``handlers.*``; third-party packages are shared), imported on its first invocation
(cold start, 20-250 ms) and reused. Around each invocation the container's modules are swapped into
``sys.modules``, its code directory onto ``sys.path`` and its environment into ``os.environ``, then the
process's are restored, so lazy imports and call-time reads see the function's own. All three are
process-wide: invocations run one at a time (one lock; about 1 ms of overhead per warm call). A handler
that waits for another invocation (synchronous Lambda-to-Lambda, a Lambda subscribed to a topic it
publishes to) waits for that lock until its timeout, then gets ``Sandbox.Timedout``. Timeouts are not
enforced otherwise (threads cannot be killed).

Nested invocations, for CodeDeploy lifecycle hooks only (:mod:`localmode.codedeploy`): a hook invokes
the version it validates synchronously, with ``ClientContext`` ``{"custom": {"DeploymentId": ...,
"LifecycleEventHookExecutionId": ...}}``, while its own invocation holds the lock. The emulator starts a
hook's invocation inside :func:`running_hook`, which tags the invocation with the hook execution id for
as long as it holds the lock. A synchronous Invoke whose ``ClientContext`` custom
``LifecycleEventHookExecutionId`` equals that tag runs *nested*: without taking the lock (the hook's
invocation is blocked waiting for its answer), its container swapped in over the hook's and the hook's
swapped back afterwards (modules, ``sys.path`` and environment restored as after any invocation). Nested
invocations of one hook run one at a time, as the hook waits for each. Every other Invoke (no
ClientContext, another or a finished execution id, ``InvocationType=Event``) waits for the lock as
before.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction

from localmode.moto_patches import lambda_ as moto_lambda
from localmode.moto_patches.patch import PatchSet
from modules.product_defaults import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY

LOG = logging.getLogger(__name__)
# Variables of the developer's shell that must not leak into a function (on AWS they do not exist).
_MASKED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "LAMBDA_TASK_ROOT")
HOOK_EXECUTION_KEY = "LifecycleEventHookExecutionId"  # the ClientContext custom key a nested Invoke carries

_invocation_lock = threading.Lock()
_caller = threading.local()  # the hook execution an invocation started from this thread runs for


class _LockHolder:
    """The hook execution the invocation holding the lock runs for (None: not a hook)."""

    hook_execution_id: str | None = None


_holder = _LockHolder()


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
    code_root: str | None = None  # the extracted deployed code; None: this process's sys.path

    @classmethod
    def of(cls, fn: LambdaFunction, code_root: str | None = None) -> FunctionConfig:
        """Read the configuration of a moto function (or function version)."""
        return cls(fn.function_name, str(fn.handler), tuple(sorted((fn.environment_vars or {}).items())),
                   int(fn.memory_size), int(fn.timeout), str(fn.version), fn.region, str(fn.code_sha_256),
                   code_root)


@dataclass(frozen=True)
class ClientContext:
    """The Invoke's ``ClientContext`` as a handler reads it (``context.client_context.custom``)."""

    custom: dict[str, Any] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    client: Any = None

    @classmethod
    def parse(cls, header: str) -> ClientContext | None:
        """Decode the ``X-Amz-Client-Context`` header (base64 of a JSON object); None when absent or
        malformed (such an Invoke simply runs without one)."""
        try:
            document = json.loads(base64.b64decode(header, validate=True)) if header else None
        except (binascii.Error, ValueError):
            return None
        if not isinstance(document, dict):
            return None
        return cls(dict(document.get("custom") or {}), dict(document.get("env") or {}), document.get("client"))


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
    client_context: ClientContext | None = None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class CodeCache:
    """Deployed zips, extracted once per code hash into a temporary directory owned by the runtime."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="localmode-code-"))
        self._lock = threading.Lock()

    def root_for(self, fn: LambdaFunction) -> str:
        """The directory holding ``fn``'s deployed code, extracted on first use. An unreadable zip gives
        an empty directory: the handler's import then fails as it would on AWS."""
        code = bytes(getattr(fn, "code_bytes", b"") or b"")
        digest = str(getattr(fn, "code_digest", "") or "") or hashlib.sha256(code).hexdigest()
        root = self.directory / digest
        with self._lock:
            if not root.is_dir():
                _extract(code, root)
        return str(root)

    def remove(self) -> None:
        """Delete the extracted code and forget the import finders cached for it."""
        shutil.rmtree(self.directory, ignore_errors=True)
        for entry in [entry for entry in list(sys.path_importer_cache) if entry.startswith(str(self.directory))]:
            sys.path_importer_cache.pop(entry, None)


def _extract(code: bytes, root: Path) -> None:
    # Extracted next to its final place and renamed, so a directory that exists is complete.
    partial = Path(tempfile.mkdtemp(prefix=root.name + "-", dir=root.parent))
    try:
        with zipfile.ZipFile(io.BytesIO(code)) as archive:
            archive.extractall(partial)  # member names are sanitized ("..", absolute paths)
    except zipfile.BadZipFile:
        LOG.warning("Deployed code %s is not a zip: the function has no code to import", root.name)
    partial.rename(root)


def _module_file_in(root: str, module_name: str) -> bool:
    base = Path(root, *module_name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


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
        """Swap this container's modules, code directory and environment in; restore what was there
        afterwards (the process's, or a hook's around a nested invocation)."""
        outside = {name: sys.modules.pop(name) for name in self._owned()}
        sys.modules.update(self.modules)
        saved = {name: os.environ.get(name) for name in environment}
        _apply(environment)
        root = self.config.code_root
        if root is not None:
            sys.path.insert(0, root)
        try:
            yield
        finally:
            if root is not None:
                sys.path.remove(root)  # the first occurrence: the one inserted above
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
        root = self.config.code_root
        if root is not None and not _module_file_in(root, module_name):
            # Checked, not left to the import: a package missing from the zip would be found further
            # down sys.path (this repository), which Lambda would never do.
            raise FunctionError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': "
                                f"No module named '{module_name}' in the function's deployed code")
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


@contextmanager
def running_hook(execution_id: str) -> Iterator[None]:
    """Invocations started from this thread inside the block run the CodeDeploy hook execution
    ``execution_id``: while one holds the lock, a synchronous Invoke whose ClientContext names that
    execution runs nested instead of waiting for the lock (see the module docstring)."""
    _caller.hook_execution_id = execution_id
    try:
        yield
    finally:
        _caller.hook_execution_id = None


def _awaited_by_lock_holder(client_context: ClientContext | None) -> bool:
    """Whether the invocation holding the lock is a hook waiting for this one (its execution id)."""
    execution_id = client_context.custom.get(HOOK_EXECUTION_KEY) if client_context else None
    return execution_id is not None and execution_id == _holder.hook_execution_id


class LocalLambdaRuntime:
    """Runs invocations of deployed functions in-process (one container per function configuration)."""

    def __init__(self, endpoint: str, code: CodeCache | None = None) -> None:
        self.endpoint = endpoint
        self.code = code
        self._containers: dict[FunctionConfig, Container] = {}

    def config_of(self, fn: LambdaFunction) -> FunctionConfig:
        """The configuration of a moto function version, with its deployed code extracted."""
        return FunctionConfig.of(fn, self.code.root_for(fn) if self.code is not None else None)

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

    def run(self, config: FunctionConfig, event: Any, invoked_arn: str, client_context: ClientContext | None = None,
            *, synchronous: bool = True) -> tuple[bytes, bool]:
        """Invoke once; return (payload, function error?). A synchronous invocation a running hook
        waits for runs nested (see the module docstring); every other one takes the lock."""
        request_id = str(uuid.uuid4())
        context = LambdaContext(config.name, config.version, invoked_arn, config.memory_mb, request_id,
                                f"/aws/lambda/{config.name}", f"local/[{config.version}]{request_id}",
                                time.monotonic() + config.timeout_seconds, client_context)
        if synchronous and _awaited_by_lock_holder(client_context):
            return self._call(config, event, context)
        if not _invocation_lock.acquire(timeout=config.timeout_seconds):
            return _failed(FunctionError("Sandbox.Timedout", f"Task timed out after {config.timeout_seconds} "
                                         "seconds waiting for another in-process invocation"), request_id)
        _holder.hook_execution_id = getattr(_caller, "hook_execution_id", None)
        try:
            return self._call(config, event, context)
        finally:
            _holder.hook_execution_id = None
            _invocation_lock.release()

    def _call(self, config: FunctionConfig, event: Any, context: LambdaContext) -> tuple[bytes, bool]:
        try:
            container = self._containers.setdefault(config, Container(config))
            with container.active(self.environment(config)):
                result = container.call(event, context)
        except Exception as err:
            return _failed(err, context.aws_request_id)
        try:
            return json.dumps(result).encode(), False
        except (TypeError, ValueError) as err:
            return _failed(FunctionError("Runtime.MarshalError", f"Unable to marshal response: {err}"),
                           context.aws_request_id)


def _header(headers: Any, name: str, default: str) -> str:
    return next((str(value) for key, value in dict(headers or {}).items() if key.lower() == name), default)


def install(endpoint: str) -> Callable[[], None]:
    """Route moto's Lambda invocations to a :class:`LocalLambdaRuntime`; return the undo function."""
    code = CodeCache()
    runtime = LocalLambdaRuntime(endpoint, code)
    patches = PatchSet()

    def run_async(config: FunctionConfig, event: Any, invoked_arn: str, client_context: ClientContext | None) -> None:
        payload, failed = runtime.run(config, event, invoked_arn, client_context, synchronous=False)
        if failed:  # no retries or on-failure destination here: at least say so
            LOG.warning("Asynchronous invocation of %s failed: %s", invoked_arn, payload.decode())

    def invoke(fn: LambdaFunction, body: Any, request_headers: Any, response_headers: Any, invoked_arn: str) -> bytes:
        invocation_type = _header(request_headers, "x-amz-invocation-type", "RequestResponse")
        if invocation_type == "DryRun":
            return b""
        config = runtime.config_of(fn)
        event = json.loads(body) if body else {}
        client_context = ClientContext.parse(_header(request_headers, "x-amz-client-context", ""))
        if invocation_type == "Event":  # asynchronous: accepted now, run later, like Lambda's event queue
            threading.Thread(target=run_async, args=(config, event, invoked_arn, client_context), daemon=True).start()
            return b""
        payload, failed = runtime.run(config, event, invoked_arn, client_context)
        if failed:
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    moto_lambda.route_invocations(patches, invoke)

    def uninstall() -> None:
        patches.undo()
        code.remove()

    return uninstall
