"""The environment of each function (its Lambda variables), validated once at cold start.

Each function loads exactly one model below with :func:`load_settings`; a missing or malformed
variable raises :class:`ConfigurationError` during init, with a message naming the variable, so
the function never starts half-configured.

=====================  ==========================================================================
Function               Variables (besides POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE,
                       optional POWERTOOLS_LOG_LEVEL)
=====================  ==========================================================================
api                    TABLE_NAME, IDEMPOTENCY_TABLE_NAME, STATE_MACHINE_ARN, ALLOWED_ORIGINS (opt.)
workflow validate      (none)
workflow process       TABLE_NAME
workflow notify        TABLE_NAME, EVENTS_TOPIC_ARN
workflow mark_failed   TABLE_NAME
scheduled digest       TABLE_NAME, EVENTS_TOPIC_ARN
stream consumer        EVENTS_TOPIC_ARN
deploy pre_traffic     DEPLOYMENT_APPLICATION_NAME, SMOKE_CHECKS (JSON: function name -> check)
=====================  ==========================================================================

Region and endpoint are not settings: boto3 reads ``AWS_REGION``/``AWS_DEFAULT_REGION`` and
``AWS_ENDPOINT_URL`` itself.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

TableName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$")]
TopicArn = Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")]
StateMachineArn = Annotated[
    str, Field(pattern=r"^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_.-]{1,80}$")
]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"]

# An origin is scheme://host[:port], exactly what browsers send in the Origin header (no path, no slash).
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


class ConfigurationError(RuntimeError):
    """An environment variable is missing or invalid; raised during init."""


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


class FunctionEnvironment(BaseModel):
    """Variables every function reads through Powertools."""

    # Each function validates one of these models: building only that one saves init time.
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    service_name: str = Field(alias="POWERTOOLS_SERVICE_NAME", min_length=1, max_length=255)
    metrics_namespace: str = Field(alias="POWERTOOLS_METRICS_NAMESPACE", min_length=1, max_length=255)
    log_level: Annotated[LogLevel, BeforeValidator(_upper)] = Field("INFO", alias="POWERTOOLS_LOG_LEVEL")
    # Read by Powertools' Tracer itself: whether a traced handler's return value is recorded
    # in the X-Ray segment's metadata. Off where clients' data lives (modules/function.py).
    tracer_capture_response: bool = Field(True, alias="POWERTOOLS_TRACER_CAPTURE_RESPONSE")


class ApiEnvironment(FunctionEnvironment):
    """The API function.

    ``ALLOWED_ORIGINS`` is a comma-separated list of browser origins allowed by CORS. The default,
    empty, sends no CORS headers at all: the API is called server-to-server with an API key, and
    browsers must be allowed explicitly. ``*`` allows any origin (development only).
    """

    table_name: TableName = Field(alias="TABLE_NAME")
    idempotency_table_name: TableName = Field(alias="IDEMPOTENCY_TABLE_NAME")
    state_machine_arn: StateMachineArn = Field(alias="STATE_MACHINE_ARN")
    allowed_origins: tuple[str, ...] = Field((), alias="ALLOWED_ORIGINS")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        origins = tuple(part.strip() for part in value.split(",") if part.strip())
        if "*" in origins and len(origins) > 1:
            raise ValueError("'*' cannot be combined with other origins")
        for origin in origins:
            if origin != "*" and not _ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin like https://app.example.com (no path)")
        return origins


class ValidateTaskEnvironment(FunctionEnvironment):
    """Workflow task ``validate``: pure computation, no AWS resource."""


class ProcessTaskEnvironment(FunctionEnvironment):
    """Workflow task ``process``."""

    table_name: TableName = Field(alias="TABLE_NAME")


class MarkFailedTaskEnvironment(FunctionEnvironment):
    """Workflow task ``mark_failed``."""

    table_name: TableName = Field(alias="TABLE_NAME")


class NotifyTaskEnvironment(FunctionEnvironment):
    """Workflow task ``notify``."""

    table_name: TableName = Field(alias="TABLE_NAME")
    events_topic_arn: TopicArn = Field(alias="EVENTS_TOPIC_ARN")


class DigestEnvironment(FunctionEnvironment):
    """Scheduled daily digest."""

    table_name: TableName = Field(alias="TABLE_NAME")
    events_topic_arn: TopicArn = Field(alias="EVENTS_TOPIC_ARN")


class StreamConsumerEnvironment(FunctionEnvironment):
    """DynamoDB stream consumer."""

    events_topic_arn: TopicArn = Field(alias="EVENTS_TOPIC_ARN")


class SmokeCheck(BaseModel):
    """How the pre-traffic hook checks one function's new version: the event, and the answer
    that passes (an API proxy answer with `status_code`, or a function error of `error_type`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event: dict[str, Any]
    status_code: int | None = Field(default=None, ge=100, le=599)
    error_type: str | None = Field(default=None, min_length=1)


class PreTrafficHookEnvironment(FunctionEnvironment):
    """CodeDeploy's BeforeAllowTraffic hook: the application whose deployments it checks, and
    one smoke check per function deployed through it (by Lambda function name)."""

    deployment_application_name: str = Field(alias="DEPLOYMENT_APPLICATION_NAME", pattern=r"^[A-Za-z0-9_.+-]{1,100}$")
    smoke_checks: dict[str, SmokeCheck] = Field(alias="SMOKE_CHECKS", min_length=1)

    @field_validator("smoke_checks", mode="before")
    @classmethod
    def _json(cls, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value


EnvironmentT = TypeVar("EnvironmentT", bound=FunctionEnvironment)


def environment_names(model: type[FunctionEnvironment]) -> tuple[str, ...]:
    """Return the environment variable names a settings model reads."""
    return tuple(field.alias or name for name, field in model.model_fields.items())


def load_settings(model: type[EnvironmentT], environ: Mapping[str, str] | None = None) -> EnvironmentT:
    """Validate the environment against ``model``; raise ConfigurationError naming each bad variable."""
    source = os.environ if environ is None else environ
    names = environment_names(model)
    values = {name: source[name] for name in names if name in source}
    try:
        return model.model_validate(values)
    except ValidationError as err:
        raise ConfigurationError(_describe(model, err)) from None


def _describe(model: type[FunctionEnvironment], err: ValidationError) -> str:
    problems = []
    for error in err.errors(include_url=False, include_input=False):
        name = str(error["loc"][0]) if error["loc"] else "?"
        if error["type"] == "missing":
            problems.append(f"{name} is required but not set")
        else:
            problems.append(f"{name} is invalid: {error['msg']}")
    return f"Invalid environment for {model.__name__}: " + "; ".join(problems)
