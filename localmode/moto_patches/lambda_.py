"""Lambda: what local mode changes in moto's Lambda service (written against moto 5.2.5).

* :func:`install_fixes`: answers moto gives that differ from AWS's and make ``terraform plan`` drift or
  run the wrong version (the Invoke ``Qualifier``, settings GetFunction leaves out, a mapping's alias ARN).
* :func:`route_invocations`: every invocation moto makes (Invoke API, Step Functions tasks, mappings)
  runs the given in-process runtime instead of a Docker container; moto has no extension point for a
  Lambda executor other than its Docker and "simple" backends.
* :func:`route_stream_records`: DynamoDB stream records moto hands to a mapped function go to the given
  delivery queue instead of being invoked inside the write request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import EventSourceMapping, LambdaBackend, LambdaFunction, LambdaStorage
from moto.awslambda.responses import LambdaResponse

from localmode.moto_patches.patch import Patch, PatchSet

# Function settings moto accepts but does not return from GetFunction; without them every
# `terraform plan` after apply wants to add them again.
KEPT_FUNCTION_SETTINGS = ("DeadLetterConfig", "LoggingConfig")

INVOKE_IN_PROCESS = Patch(
    "lambda.invoke_in_process", LambdaFunction, "invoke", "replaces",
    "(self, body: 'str', request_headers: 'Any', response_headers: 'Any') -> 'str | bytes'",
    "run the deployed handler in this process (moto runs Lambda code only in Docker)")
INVOKED_ARN = Patch(
    "lambda.invoked_arn", LambdaBackend, "invoke", "wraps",
    "(self, function_name: 'str', qualifier: 'str | None', body: 'Any', headers: 'Any', "
    "response_headers: 'Any') -> 'str | bytes | None'",
    "remember the (qualified) ARN an Invoke named, for the handler's context.invoked_function_arn")
INVOKE_READS_QUALIFIER = Patch(
    "lambda.invoke_reads_qualifier", LambdaResponse, "invoke", "wraps",
    "(self) -> tuple[int, dict[str, str], str | bytes]",
    "Invoke honours the API's `Qualifier` (moto reads `qualifier`): Qualifier=4 runs version 4, not $LATEST")
KEEP_SETTINGS_INIT = Patch(
    "lambda.kept_settings_on_create", LambdaFunction, "__init__", "wraps",
    "(self, account_id: 'str', spec: 'dict[str, Any]', region: 'str', version: 'str | int' = 1)",
    "keep DeadLetterConfig and LoggingConfig given at CreateFunction")
KEEP_SETTINGS_UPDATE = Patch(
    "lambda.kept_settings_on_update", LambdaFunction, "update_configuration", "wraps",
    "(self, config_updates: 'dict[str, Any]') -> 'dict[str, Any]'",
    "keep DeadLetterConfig and LoggingConfig given at UpdateFunctionConfiguration")
KEEP_SETTINGS_GET = Patch(
    "lambda.kept_settings_returned", LambdaFunction, "get_configuration", "wraps",
    "(self, on_create: 'bool' = False) -> 'dict[str, Any]'",
    "GetFunction returns the kept settings, as AWS does (else `terraform plan` drifts)")
MAPPING_REPORTS_ALIAS = Patch(
    "lambda.mapping_reports_alias", EventSourceMapping, "get_configuration", "wraps",
    "(self) -> 'dict[str, Any]'",
    "a mapping reports the alias ARN it was created with, as AWS does (moto: the version behind it)")
VERSIONS_NEVER_REUSED = Patch(
    "lambda.versions_never_reused", LambdaStorage, "publish_version", "wraps",
    "(self, name_or_arn: 'str', description: 'str' = '') -> 'LambdaFunction | None'",
    "a deleted version's number is never published again, as in AWS (moto numbers len(versions) + 1, "
    "which repeats a number once `make rollout` prunes old versions)")
STREAM_RECORDS_QUEUED = Patch(
    "lambda.stream_records_queued", LambdaBackend, "send_dynamodb_items", "replaces",
    "(self, function_arn: 'str', items: 'list[Any]', source: 'str') -> 'str | bytes'",
    "queue DynamoDB stream records for asynchronous, ordered delivery with retries (moto invokes inside "
    "the write request and drops failures)")

PATCHES = (INVOKE_IN_PROCESS, INVOKED_ARN, INVOKE_READS_QUALIFIER, KEEP_SETTINGS_INIT, KEEP_SETTINGS_UPDATE,
           KEEP_SETTINGS_GET, MAPPING_REPORTS_ALIAS, VERSIONS_NEVER_REUSED, STREAM_RECORDS_QUEUED)

# fn, event body, request headers, response headers (to set x-amz-function-error), invoked ARN -> payload
Invoke = Callable[[LambdaFunction, Any, Any, Any, str], bytes]
# backend, function ARN, stream records (moto's), stream ARN -> a truthy answer ("handed over")
SubmitRecords = Callable[[LambdaBackend, str, list[Any], str], bytes]


def install_fixes(patches: PatchSet) -> None:
    """Make moto's Lambda answer as AWS does where ``terraform plan`` or a qualified Invoke notices."""
    original_invoke = patches.apply(INVOKE_READS_QUALIFIER, lambda self: _with_qualifier(self, original_invoke))
    original_init = LambdaFunction.__init__
    original_update = LambdaFunction.update_configuration
    original_get = LambdaFunction.get_configuration

    def init(self: LambdaFunction, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        spec = kwargs.get("spec", args[1] if len(args) > 1 else {})
        self._kept_settings = {k: spec[k] for k in KEPT_FUNCTION_SETTINGS if k in spec}  # type: ignore[attr-defined]

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> Any:
        kept = getattr(self, "_kept_settings", {})
        kept.update({k: config_updates[k] for k in KEPT_FUNCTION_SETTINGS if k in config_updates})
        self._kept_settings = kept  # type: ignore[attr-defined]
        return original_update(self, config_updates)

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**original_get(self, *args, **kwargs), **getattr(self, "_kept_settings", {})}

    patches.apply(KEEP_SETTINGS_INIT, init)
    patches.apply(KEEP_SETTINGS_UPDATE, update_configuration)
    patches.apply(KEEP_SETTINGS_GET, get_configuration)
    original_mapping = patches.apply(MAPPING_REPORTS_ALIAS, lambda self: _alias_arn(self, original_mapping))
    original_publish = patches.apply(VERSIONS_NEVER_REUSED, lambda self, name_or_arn, description="":
                                     _publish_upwards(self, name_or_arn, description, original_publish))


def _publish_upwards(storage: LambdaStorage, name_or_arn: str, description: str,
                     original: Callable[..., LambdaFunction | None]) -> LambdaFunction | None:
    name = storage.get_function_by_name_or_arn_forbid_qualifier(name_or_arn).function_name
    versions = storage._functions.get(name, {}).get("versions", [])
    before = {id(v) for v in versions}
    highest = storage.__dict__.setdefault("_highest_versions", {})  # every number ever published, per function
    floor = max([highest.get(name, 0), *(int(v.version) for v in versions)])
    published = original(storage, name_or_arn, description)
    if published is not None and id(published) not in before and int(published.version) <= floor:
        storage._arns.pop(published.function_arn, None)
        published.set_version(floor + 1)
        storage._arns[published.function_arn] = published
    if published is not None:
        highest[name] = max(floor, int(published.version))
    return published


def _with_qualifier(response: LambdaResponse, original: Callable[[LambdaResponse], Any]) -> Any:
    if "Qualifier" in response.querystring and "qualifier" not in response.querystring:
        response.querystring["qualifier"] = response.querystring["Qualifier"]
    return original(response)


def _alias_arn(mapping: EventSourceMapping, original: Callable[[EventSourceMapping], dict[str, Any]]) -> dict[str, Any]:
    config = original(mapping)
    requested = str(mapping.function_name)
    if requested.startswith("arn:") and requested.count(":") == 7:
        config["FunctionArn"] = requested
    return config


_invoked = threading.local()  # the (possibly qualified) ARN the current Invoke API call named


def route_invocations(patches: PatchSet, invoke: Invoke) -> None:
    """Every invocation of a function (version) calls ``invoke`` in this process."""
    original_backend_invoke = LambdaBackend.invoke

    def backend_invoke(backend: LambdaBackend, function_name: str, qualifier: str | None, *args: Any) -> Any:
        arn = function_name if function_name.startswith("arn:") else (
            f"arn:aws:lambda:{backend.region_name}:{backend.account_id}:function:{function_name}")
        _invoked.arn = f"{arn}:{qualifier}" if qualifier and arn.count(":") == 6 else arn
        try:
            return original_backend_invoke(backend, function_name, qualifier, *args)
        finally:
            _invoked.arn = None

    def function_invoke(fn: LambdaFunction, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        return invoke(fn, body, request_headers, response_headers, getattr(_invoked, "arn", None) or fn.function_arn)

    patches.apply(INVOKED_ARN, backend_invoke)
    patches.apply(INVOKE_IN_PROCESS, function_invoke)


def route_stream_records(patches: PatchSet, submit: SubmitRecords) -> None:
    """DynamoDB stream records for a mapped function go to ``submit`` instead of an invocation."""
    patches.apply(STREAM_RECORDS_QUEUED, lambda backend, function_arn, items, source:
                  submit(backend, function_arn, items, source))
