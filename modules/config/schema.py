"""The configuration schema: typed settings models, each field with its validators beside it.

A field's bounds live in its `Field(...)`; a rule between fields of one model is a
validator of that model; rules between layers live in `modules.config.rules`. Every
field carries a docstring: it becomes the field's description in the JSON Schema of the
configuration files (config/schema.json) and in docs/configuration.md.
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, field_validator, model_validator

from handlers.api.routes_table import ROUTES
from modules.catalog import FUNCTIONS, FunctionSpec
from modules.catalog import function as catalog_function
from modules.product_defaults import DEFAULT_EMULATOR_ENDPOINT, DEFAULT_PROJECT, DEFAULT_REGION

WORKSPACES: tuple[str, ...] = ("local", "dev", "staging", "prod")
Workspace = Literal["local", "dev", "staging", "prod"]

# The values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

# The documented environment-variable interface (docs/configuration.md).
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "WORKSPACES": "comma-separated workspaces to synthesize (default: all of local, dev, staging, prod)",
    "PROJECT_NAME": f"project name used in every resource name (default: {DEFAULT_PROJECT})",
    "DEPLOY_REGION": f"AWS region (default: {DEFAULT_REGION})",
    "STATE_BUCKET": "Terraform state bucket (default: {project}-tfstate-{region})",
    "ALERT_EMAILS": "comma-separated e-mail addresses subscribed to the alert topic",
    "API_DOMAIN_NAME": "optional custom API domain (set together with API_CERTIFICATE_ARN)",
    "API_CERTIFICATE_ARN": "ACM certificate ARN for API_DOMAIN_NAME",
    "EMULATOR_ENDPOINT": f"AWS emulator endpoint used by the local workspace (default: {DEFAULT_EMULATOR_ENDPOINT})",
    "VPC_CIDR": "overrides the VPC CIDR of every selected workspace (default: per workspace)",
    "API_KIND": "rest (default: REST API with keys and usage plans) or http (HTTP API variant)",
    "GITHUB_REPOSITORY": "owner/repo whose workflows the `ci` stack's roles trust (the stack is built only with it)",
}

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
_CLIENT = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_SCHEDULE = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$")
# Routes whose answer changes with every poll or probe: never served from the stage cache.
NEVER_CACHED_ROUTES = frozenset({("GET", "/jobs/{id}"), ("GET", "/health")})
# A usage plan MONTH counted at its longest.
SECONDS_PER_QUOTA_MONTH = 31 * 86_400


def _cacheable_routes() -> list[str]:
    return [f"{m} {p}" for m, p in ROUTES if m == "GET" and (m, p) not in NEVER_CACHED_ROUTES]


_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class _Frozen(BaseModel):
    # Attribute docstrings become field descriptions (schema, docs page).
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


MemoryMb = Annotated[int, Field(ge=128, le=10240)]
TimeoutSeconds = Annotated[int, Field(ge=1, le=900)]


class FunctionSizing(_Frozen):
    """Memory, timeout and (opt-in) reserved concurrency of one Lambda function."""

    memory_mb: MemoryMb = 256
    """Memory of the function (aws_lambda_function memory_size), in MB; CPU grows with it."""
    timeout_seconds: TimeoutSeconds = 30
    """Timeout of the function, in seconds; its p99-duration alarm is a share of it."""
    # Reserved concurrency is opt-in (None: the function shares the account's unreserved
    # pool). A reservation is both the function's guarantee and its ceiling, and AWS keeps
    # 100 of the account's concurrency unreserved, so reservations fail in new accounts with
    # a low quota: set one only with the reason, in `reservation_reason`.
    reserved_concurrency: int | None = Field(default=None, ge=1, le=1000)
    """Reserved concurrency of the function: its guarantee and its ceiling (none: the shared pool)."""
    reservation_reason: str | None = Field(default=None, min_length=10)
    """Why the function reserves concurrency (required with reserved_concurrency)."""
    # The assumption the API's throttle is sized from: the duration of one invocation, in
    # ms, averaged over warm invocations and the occasional cold start. The API admits at
    # most concurrency x 1000 / expected_duration_ms requests per second.
    expected_duration_ms: int = Field(default=200, ge=1, le=900_000)
    """Expected duration of one invocation, in ms: the API's throttle is sized from it."""

    @model_validator(mode="after")
    def _reservation_has_reason(self) -> FunctionSizing:
        if (self.reserved_concurrency is None) != (self.reservation_reason is None):
            raise ValueError(f"reserved_concurrency {self.reserved_concurrency} with reservation_reason "
                             f"{self.reservation_reason!r}; allowed: both set (a reservation and why) or neither")
        if self.expected_duration_ms > self.timeout_seconds * 1000:
            raise ValueError(f"expected_duration_ms {self.expected_duration_ms} exceeds timeout_seconds "
                             f"{self.timeout_seconds}; allowed: at most the timeout in ms")
        return self


class FunctionOverride(_Frozen):
    """Per-function sizing override: only the fields set replace the function's class default."""

    memory_mb: MemoryMb | None = None
    """Memory of this function, in MB (replaces its class's value)."""
    timeout_seconds: TimeoutSeconds | None = None
    """Timeout of this function, in seconds (replaces its class's value)."""
    reserved_concurrency: int | None = Field(default=None, ge=1, le=1000)
    """Reserved concurrency of this function (with reservation_reason)."""
    reservation_reason: str | None = Field(default=None, min_length=10)
    """Why this function reserves concurrency."""
    expected_duration_ms: int | None = Field(default=None, ge=1, le=900_000)
    """Expected duration of one invocation of this function, in ms."""


class CapacitySettings(_Frozen):
    """Provisioned capacity with target-tracking autoscaling (table and GSI alike)."""

    min_capacity: int = Field(ge=1, le=40000)
    """Lowest provisioned capacity units autoscaling may set."""
    max_capacity: int = Field(ge=1, le=40000)
    """Highest provisioned capacity units autoscaling may set."""
    target_utilization: float = Field(default=70.0, ge=20.0, le=90.0)
    """Share of the provisioned capacity (percent) target tracking keeps consumed."""

    @model_validator(mode="after")
    def _min_not_above_max(self) -> CapacitySettings:
        if self.min_capacity > self.max_capacity:
            raise ValueError(
                f"min_capacity {self.min_capacity} is above max_capacity {self.max_capacity}; "
                "allowed: min_capacity <= max_capacity"
            )
        return self


class NetworkSettings(_Frozen):
    """The network layer; `enabled = False` means functions run outside a VPC."""

    enabled: bool = True
    """Whether the network layer exists and the functions run in its private subnets."""
    vpc_cidr: str = "10.0.0.0/16"
    """The VPC's IPv4 range; subnets are carved from it (VPC_CIDR wins)."""
    az_count: int = Field(default=2, ge=2, le=3)
    """Availability zones with one private and one public subnet each."""
    nat_gateway_count: int = Field(default=1, ge=0, le=3)
    """NAT gateways: 0 (no internet egress), 1 (shared) or one per AZ."""
    interface_endpoints: bool = False
    """Interface VPC endpoints for the AWS APIs the functions call (besides the gateway endpoints)."""

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            network = ipaddress.IPv4Network(value, strict=True)
        except ValueError as err:
            raise ValueError(f"{value!r} is not an IPv4 network in CIDR notation ({err}); "
                             "allowed: e.g. 10.0.0.0/16, prefix /16 to /24") from None
        if not 16 <= network.prefixlen <= 24:
            raise ValueError(f"{value!r} has prefix /{network.prefixlen}; allowed: /16 to /24")
        return value

    @model_validator(mode="after")
    def _nat_within_azs(self) -> NetworkSettings:
        if self.nat_gateway_count > self.az_count:
            raise ValueError(f"nat_gateway_count {self.nat_gateway_count} exceeds az_count {self.az_count}; "
                             "allowed: 0, 1 or one per AZ")
        return self


class DataSettings(_Frozen):
    """The data layer: table billing, protection and bucket lifecycles."""

    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] = "PAY_PER_REQUEST"
    """Billing of the items table and its GSI: on demand, or provisioned with autoscaling."""
    read_capacity: CapacitySettings | None = None
    """Provisioned read capacity of the table and its GSI (PROVISIONED only)."""
    write_capacity: CapacitySettings | None = None
    """Provisioned write capacity of the table and its GSI (PROVISIONED only)."""
    point_in_time_recovery: bool = True
    """Point-in-time recovery of the DynamoDB tables."""
    deletion_protection: bool = False
    """DynamoDB deletion protection on the tables."""
    code_noncurrent_version_days: int = Field(default=30, ge=30, le=90)
    """Days the code bucket keeps a replaced artifact version."""
    log_archive_expiry_days: int = Field(default=90, ge=1, le=3650)
    """Days the log archive bucket keeps an object."""
    dlq_retention_seconds: int = Field(default=1_209_600, ge=60, le=1_209_600)
    """Retention of the dead-letter queues, in seconds."""

    @model_validator(mode="after")
    def _capacity_matches_billing(self) -> DataSettings:
        provisioned = self.billing_mode == "PROVISIONED"
        has_capacity = self.read_capacity is not None and self.write_capacity is not None
        if provisioned and not has_capacity:
            raise ValueError("billing_mode PROVISIONED needs read_capacity and write_capacity; "
                             "allowed: PROVISIONED with both, or PAY_PER_REQUEST with neither")
        if not provisioned and (self.read_capacity or self.write_capacity):
            raise ValueError(f"billing_mode {self.billing_mode} has read_capacity/write_capacity; "
                             "allowed: capacity only with billing_mode PROVISIONED")
        return self


class AppSettings(_Frozen):
    """Settings the app layer reads (functions, workflow, schedule, stream)."""

    lambda_architecture: Literal["arm64", "x86_64"] = "arm64"
    """Instruction set of every function and of the dependencies layer."""
    lambda_runtime: Literal["python3.11", "python3.12", "python3.13"] = "python3.13"
    """Python runtime of every function and of the dependencies layer."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """POWERTOOLS_LOG_LEVEL of every function."""
    # Sizing per class of function (`kind` in modules/catalog.py), then per function by name.
    api_function: FunctionSizing = FunctionSizing(memory_mb=512, timeout_seconds=29)
    """Sizing of the functions of class api (modules/catalog.py)."""
    task_function: FunctionSizing = FunctionSizing(memory_mb=512, timeout_seconds=30)
    """Sizing of the functions of class task (workflow, schedule, stream)."""
    function_overrides: dict[str, FunctionOverride] = Field(
        default={}, json_schema_extra={"propertyNames": {"enum": [spec.name for spec in FUNCTIONS]}})
    """Sizing of one function by catalog name; fields not set keep the class value."""
    # What a function without a reservation can count on from the account's unreserved
    # pool, which every such function of every workspace in the account shares (at least
    # 100 exist in any account that reserves; new accounts may have less in all).
    assumed_unreserved_concurrency: int = Field(default=50, ge=1, le=10000)
    """Concurrency a function without a reservation counts on from the shared pool."""
    # The account's concurrency quota the reservations must fit in (AWS default 1000; AWS
    # keeps 100 of it unreserved).
    account_concurrency_limit: int = Field(default=1000, ge=100)
    """The account's Lambda concurrency quota the reservations must fit in."""
    schedule_expression: str = Field(default="rate(1 day)", json_schema_extra={"pattern": _SCHEDULE.pattern})
    """When the EventBridge schedule runs the digest function."""
    stream_batch_size: int = Field(default=100, ge=1, le=10000)
    """Records per batch of the DynamoDB stream mapping."""
    stream_batching_window_seconds: int = Field(default=5, ge=0, le=300)
    """Seconds the stream mapping gathers records before invoking."""
    stream_max_retries: int = Field(default=3, ge=0, le=10000)
    """Retries of a failed stream batch before it goes to the on-failure destination."""
    # DynamoDB Streams keeps a record 24 h: an older limit can never apply. Batches the mapping
    # gives up on go to the S3 on-failure destination in full (modules/app.py), so bounded
    # retries lose nothing.
    stream_max_record_age_seconds: int = Field(default=3600, ge=60, le=86400)
    """Age after which a stream record is no longer retried."""
    allowed_origins: tuple[str, ...] = ()
    """Origins the API answers with CORS headers (ALLOWED_ORIGINS of the api function)."""
    # Functions whose published versions start from a SnapStart snapshot (Python 3.12 and
    # later): init leaves the request path. Each restore is billed (docs/cold-starts.md).
    snapstart_functions: tuple[str, ...] = Field(
        default=(), json_schema_extra={"items": {"type": "string", "enum": [spec.name for spec in FUNCTIONS]}})
    """Functions whose published versions start from a SnapStart snapshot."""

    @field_validator("function_overrides")
    @classmethod
    def _known_functions(cls, value: dict[str, FunctionOverride]) -> dict[str, FunctionOverride]:
        allowed = [spec.name for spec in FUNCTIONS]
        for name in value:
            if name not in allowed:
                raise ValueError(f"function_overrides key {name!r} is not a function; allowed: {', '.join(allowed)}")
        return value

    @field_validator("snapstart_functions")
    @classmethod
    def _known_snapstart_functions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = [spec.name for spec in FUNCTIONS]
        for name in value:
            if name not in allowed:
                raise ValueError(f"snapstart_functions entry {name!r} is not a function; allowed: {', '.join(allowed)}")
        return value

    @model_validator(mode="after")
    def _snapstart_needs_python_312(self) -> AppSettings:
        if self.snapstart_functions and self.lambda_runtime < "python3.12":
            raise ValueError(f"snapstart_functions {list(self.snapstart_functions)} with lambda_runtime "
                             f"{self.lambda_runtime}; allowed: SnapStart only with python3.12 or later")
        return self

    def sizing(self, function: str, functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> FunctionSizing:
        """Memory, timeout and reserved concurrency of one function (by catalog name):
        its class default (`api_function`/`task_function`) with its override applied."""
        base = self.api_function if catalog_function(function, functions).kind == "api" else self.task_function
        override = self.function_overrides.get(function)
        if override is None:
            return base
        # Validated again: an override can pair a reservation with the class's missing reason.
        return FunctionSizing.model_validate({**base.model_dump(), **override.model_dump(exclude_none=True)})

    @model_validator(mode="after")
    def _reservations_fit_the_account(self) -> AppSettings:
        reserved = {}
        for spec in FUNCTIONS:
            try:
                reserved[spec.name] = self.sizing(spec.name).reserved_concurrency
            except ValidationError as err:
                detail = str(err.errors()[0]["msg"]).removeprefix("Value error, ")
                raise ValueError(f"function_overrides {spec.name!r}: {detail}") from None
        total = sum(count for count in reserved.values() if count)
        if total > self.account_concurrency_limit - 100:
            raise ValueError(f"reserved concurrency totals {total} (account_concurrency_limit "
                             f"{self.account_concurrency_limit}); allowed: at most the limit minus the 100 AWS keeps "
                             "unreserved")
        return self

    @field_validator("schedule_expression")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if not _SCHEDULE.fullmatch(value):
            raise ValueError(f"{value!r} is not a schedule; allowed: rate(N unit) or cron(...)")
        return value


class GatewaySettings(_Frozen):
    """API Gateway settings: kind, throttling, clients and quota, cache, WAF, logging, domain."""

    kind: Literal["rest", "http"] = "rest"
    """REST API (API keys, usage plan, cache, WAF) or HTTP API (IAM auth); API_KIND wins."""
    # What the API admits from everyone together: requests per second and burst. API Gateway
    # applies a stage throttle to each method (route) on its own, so both are split evenly
    # over the routes; they must fit the api function's concurrency (see WorkspaceSettings).
    throttle_burst_limit: int = Field(default=50, ge=1, le=5000)
    """Burst the API admits from all clients together (split over the routes)."""
    throttle_rate_limit: float = Field(default=100, gt=0, le=10000)
    """Requests per second the API admits from all clients together (split over the routes)."""
    # REST kind: one API key per client, all in the usage plan, whose per-key throttle is
    # the API's share for one client; the first client keeps the original key (and the
    # `api_key_id`/`api_key_value` outputs).
    clients: tuple[str, ...] = Field(default=("default",), json_schema_extra={
        "items": {"type": "string", "pattern": _CLIENT.pattern}, "minItems": 1, "uniqueItems": True})
    """API clients, one API key each in the usage plan (add a name for a client with its own key)."""
    # Requests per key and month; None (the default) for no quota. A quota below what the
    # per-key throttle admits in a month locks the client out until the month ends.
    quota_per_month: int | None = Field(default=None, ge=1)
    """Requests per key and month (none: no quota)."""
    # GET routes answered from the stage cache, with their TTL in seconds (1-3600), e.g.
    # {"GET /items/{id}": 30}; none by default: items are mutable (PUT with optimistic
    # concurrency) and jobs are polled, so a cached answer is a stale one. The cache cluster
    # exists exactly when a route is cached.
    cached_routes: dict[str, int] = Field(default={}, json_schema_extra={
        "propertyNames": {"enum": list[JsonValue](_cacheable_routes())},
        "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 3600}})
    """GET routes served from the stage cache, with their TTL in seconds."""
    cache_cluster_size: Literal["0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"] = "0.5"
    """Size (GB) of the stage cache cluster, which exists when a route is cached."""
    execution_logging_level: Literal["OFF", "ERROR", "INFO"] = "INFO"
    """API Gateway execution logging of the stage."""
    waf_enabled: bool = False
    """A WAF web ACL (managed rules, per-IP rate rule, body size) on the REST stage."""
    # The per-IP rate rule counts over this window (60, 120, 300 or 600 s) and admits what
    # the throttle admits in it; a blocked client is told to retry after the window.
    waf_rate_window_seconds: Literal[60, 120, 300, 600] = 60
    """Window of the WAF per-IP rate rule, in seconds."""
    # Bodies above this size are refused by the WAF (413, the product's error shape); the
    # contract suite checks it is above the largest body the contract accepts.
    waf_max_body_bytes: int = Field(default=262_144, ge=65_536, le=10 * 1024 * 1024)
    """Bodies above this size are refused by the WAF (413)."""
    domain_name: str | None = None
    """Custom domain of the API (with certificate_arn); API_DOMAIN_NAME wins."""
    certificate_arn: str | None = None
    """ACM certificate of the custom domain; API_CERTIFICATE_ARN wins."""

    @property
    def client_rate_limit(self) -> float:
        """The usage plan's per-key rate: the API's rate shared by its clients."""
        return self.throttle_rate_limit / len(self.clients)

    @property
    def client_burst_limit(self) -> int:
        return max(1, self.throttle_burst_limit // len(self.clients))

    @field_validator("clients")
    @classmethod
    def _clients(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or len(set(value)) != len(value):
            raise ValueError(f"clients {list(value)}; allowed: one or more distinct client names")
        for client in value:
            if not _CLIENT.match(client):
                raise ValueError(f"client {client!r} is not a client name; allowed: 1-32 lowercase letters, digits "
                                 "and hyphens, starting with a letter")
        return value

    @field_validator("cached_routes")
    @classmethod
    def _cached_routes(cls, value: dict[str, int]) -> dict[str, int]:
        cacheable = _cacheable_routes()
        for route, ttl in value.items():
            if route not in cacheable:
                raise ValueError(f"cached_routes key {route!r} cannot be cached; allowed: {', '.join(cacheable)} "
                                 "(job status and health are never cached)")
            if not 1 <= ttl <= 3600:
                raise ValueError(f"cached_routes[{route!r}] TTL {ttl}; allowed: 1 to 3600 seconds")
        return value

    @model_validator(mode="after")
    def _quota_outlasts_the_throttle(self) -> GatewaySettings:
        needed = math.ceil(self.client_rate_limit * SECONDS_PER_QUOTA_MONTH)
        if self.quota_per_month is not None and self.quota_per_month < needed:
            raise ValueError(f"quota_per_month {self.quota_per_month} is used up by the per-client throttle "
                             f"({self.client_rate_limit:g}/s) within the month; allowed: at least {needed}, or none")
        return self

    @model_validator(mode="after")
    def _domain_pair(self) -> GatewaySettings:
        if (self.domain_name is None) != (self.certificate_arn is None):
            def shown(value: str | None) -> str:
                return "not set" if value is None else repr(value)

            # The problem line names the source: API_DOMAIN_NAME/API_CERTIFICATE_ARN or the file.
            raise ValueError(f"domain_name ({shown(self.domain_name)}) and certificate_arn "
                             f"({shown(self.certificate_arn)}) must be set together; allowed: both set or neither")
        if self.domain_name is not None and not _DOMAIN.match(self.domain_name):
            raise ValueError(f"domain_name {self.domain_name!r} is not a DNS name; allowed: e.g. api.example.com")
        if self.certificate_arn is not None and not _ACM_ARN.match(self.certificate_arn):
            raise ValueError(f"certificate_arn {self.certificate_arn!r} is not an ACM certificate ARN; "
                             "allowed: arn:aws:acm:<region>:<account>:certificate/<uuid>")
        return self


class AlarmRule(_Frozen):
    """When one alarm fires: above `threshold` for `periods` consecutive 5-minute periods."""

    threshold: float = Field(ge=0)
    """The alarm fires above this value."""
    periods: int = Field(default=1, ge=1, le=24)
    """Consecutive 5-minute periods above the threshold before the alarm fires."""


class AnyOccurrenceRule(AlarmRule):
    """Compared with >=: a threshold of 1 reports every occurrence."""

    threshold: float = Field(default=1, ge=1)
    """The alarm fires at this count or more (1: every occurrence)."""


class FractionRule(AlarmRule):
    """A threshold that is a share: of requests, or of a function's timeout."""

    threshold: float = Field(gt=0, le=1)
    """The alarm fires above this share (0 to 1)."""


class MillisecondsRule(AlarmRule):
    """A threshold in milliseconds (latency, record age)."""

    threshold: float = Field(ge=1)
    """The alarm fires above this many milliseconds."""


class AlarmSettings(_Frozen):
    """Every number an alarm uses: one rule per alarm family (reference figures)."""

    function_errors: AlarmRule = AlarmRule(threshold=10, periods=2)
    """Errors of each function."""
    function_throttles: AlarmRule = AlarmRule(threshold=5, periods=1)
    """Throttled invocations of each function."""
    # A share of each function's own timeout.
    function_duration_p99: FractionRule = FractionRule(threshold=0.8, periods=1)
    """p99 duration of each function, as a share of its own timeout."""
    api_5xx: AlarmRule = AlarmRule(threshold=10, periods=1)
    """5XX answers of the API."""
    api_4xx_rate: FractionRule = FractionRule(threshold=0.05, periods=2)
    """Share of the API's answers that are 4XX."""
    api_latency_p99_ms: MillisecondsRule = MillisecondsRule(threshold=2000, periods=1)
    """p99 latency of the API, in ms."""
    table_throttled_requests: AlarmRule = AlarmRule(threshold=10, periods=1)
    """Throttled requests of the items table."""
    table_system_errors: AlarmRule = AlarmRule(threshold=0, periods=1)
    """System errors of the items table."""
    # One message in a dead-letter queue is already an incident.
    dlq_visible_messages: AnyOccurrenceRule = AnyOccurrenceRule(threshold=1, periods=1)
    """Messages in a dead-letter queue."""
    state_machine_failed: AlarmRule = AlarmRule(threshold=5, periods=1)
    """Failed workflow executions."""
    # Any timed-out or throttled execution is reported.
    state_machine_timed_out: AnyOccurrenceRule = AnyOccurrenceRule(threshold=1, periods=1)
    """Timed-out workflow executions."""
    state_machine_throttled: AnyOccurrenceRule = AnyOccurrenceRule(threshold=1, periods=1)
    """Throttled workflow executions."""
    stream_iterator_age_ms: MillisecondsRule = MillisecondsRule(threshold=60_000, periods=1)
    """Age of the newest stream record the mapping read, in ms."""
    # A discarded stream batch the mapping could not write to its S3 destination is lost.
    stream_destination_delivery_failures: AnyOccurrenceRule = AnyOccurrenceRule(threshold=1, periods=1)
    """Discarded stream batches the mapping could not write to S3."""


# CodeDeploy's predefined Lambda deployment configurations (AWS CodeDeploy user guide,
# "Deployment configurations on an AWS Lambda compute platform"), by the short name SAM's
# DeploymentPreference uses: name -> (share of traffic first, minutes before the next shift,
# number of shifts). CodeDeployDefault.Lambda<name> is the configuration's full name.
DEPLOYMENT_PREFERENCES: dict[str, tuple[int, int, int]] = {
    "AllAtOnce": (100, 0, 1),
    "Canary10Percent5Minutes": (10, 5, 2),
    "Canary10Percent10Minutes": (10, 10, 2),
    "Canary10Percent15Minutes": (10, 15, 2),
    "Canary10Percent30Minutes": (10, 30, 2),
    "Linear10PercentEvery1Minute": (10, 1, 10),
    "Linear10PercentEvery2Minutes": (10, 2, 10),
    "Linear10PercentEvery3Minutes": (10, 3, 10),
    "Linear10PercentEvery10Minutes": (10, 10, 10),
}


def bake_minutes(preference: str) -> int:
    """Minutes between a preference's first shift and its last: how long alarms can stop the
    rollout while part of the traffic still runs the old version (0 for AllAtOnce)."""
    _first, interval, shifts = DEPLOYMENT_PREFERENCES[preference]
    return interval * (shifts - 1)


class DeploymentPreference(_Frozen):
    """How CodeDeploy moves a function's `live` alias to a new version, and why."""

    type: str = Field(json_schema_extra={"enum": list(DEPLOYMENT_PREFERENCES)})
    """CodeDeploy's traffic shifting for a new version (CodeDeployDefault.Lambda<type>)."""
    reason: str = Field(json_schema_extra={"minLength": 10})
    """Why this preference fits the workspace (at least 10 characters)."""

    @field_validator("reason")
    @classmethod
    def _explained(cls, value: str) -> str:
        if len(value.strip()) < 10:
            raise ValueError(f"{value!r} does not say why; allowed: at least 10 characters saying why this "
                             "preference fits the workspace")
        return value

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in DEPLOYMENT_PREFERENCES:
            raise ValueError(f"{value!r} is not a Lambda deployment preference; allowed: "
                             f"{', '.join(DEPLOYMENT_PREFERENCES)}")
        return value

    @property
    def config_name(self) -> str:
        """The CodeDeploy deployment configuration, e.g. CodeDeployDefault.LambdaCanary10Percent15Minutes."""
        return f"CodeDeployDefault.Lambda{self.type}"

    @property
    def bake_minutes(self) -> int:
        """See :func:`bake_minutes`."""
        return bake_minutes(self.type)


_NO_BAKE = ("dev and local take every change at once: no production traffic to protect, and the e2e suite "
            "exercises each deploy; the pre-traffic hook still refuses a version that fails its smoke check")


class RolloutSettings(_Frozen):
    """Deployment preference per class of function (`kind` in modules/catalog.py). Every
    preference except AllAtOnce must last long enough for the function's rollback alarms
    to fire (WorkspaceSettings checks it against `alarms`)."""

    api_function: DeploymentPreference = DeploymentPreference(type="AllAtOnce", reason=_NO_BAKE)
    """How a new version of an api-class function takes traffic."""
    task_function: DeploymentPreference = DeploymentPreference(type="AllAtOnce", reason=_NO_BAKE)
    """How a new version of a task-class function takes traffic."""
    # How long `make rollout` waits for all deployments beyond their own bake time.
    wait_margin_minutes: int = Field(default=15, ge=1, le=240)
    """How long `make rollout` waits beyond the deployments' own bake time."""

    def preference(self, kind: str) -> DeploymentPreference:
        return self.api_function if kind == "api" else self.task_function


ALARM_PERIOD_SECONDS = 300  # every alarm evaluates 5-minute periods (modules/observability.py)


class WorkspaceConfig(_Frozen):
    """What a workspace's defaults (modules/config/defaults.py) and its file
    (config/<workspace>.toml) set: every setting but the per-user ones of the environment."""

    alert_emails: tuple[str, ...] = Field(default=(), json_schema_extra={
        "items": {"type": "string", "pattern": _EMAIL.pattern}})
    """E-mail addresses subscribed to the alert topic (each confirms its subscription); ALERT_EMAILS wins."""
    log_retention_days: int = Field(default=7, json_schema_extra={"enum": list(LOG_RETENTION_DAYS)})
    """Retention of every log group of the workspace (functions, API, workflow, flow logs), in days."""
    kms_deletion_window_days: int = Field(default=30, ge=7, le=30)
    """Days between scheduling the deletion of the workspace's KMS key and the deletion."""
    xray_tracing: bool = True
    """Active X-Ray tracing on the functions, the API stage and the workflow."""
    s3_guard_policies: bool = True
    """Bucket policies deny requests without TLS and uploads asking for anything but SSE-KMS with the
    workspace key (off in local only; see LOCAL_DIFFERENCES)."""
    network: NetworkSettings = NetworkSettings()
    data: DataSettings = DataSettings()
    app: AppSettings = AppSettings()
    api: GatewaySettings = GatewaySettings()
    alarms: AlarmSettings = AlarmSettings()
    rollout: RolloutSettings = RolloutSettings()

    @field_validator("alert_emails")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for email in value:
            if not _EMAIL.match(email):
                raise ValueError(f"{email!r} is not an e-mail address; allowed: comma-separated name@domain.tld")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"{value} is not a CloudWatch Logs retention; allowed: {LOG_RETENTION_DAYS}")
        return value


class WorkspaceSettings(WorkspaceConfig):
    """Everything one workspace's layer stacks are built from: its configuration plus the
    per-user values only the environment sets (see ENVIRONMENT_VARIABLES)."""

    workspace: Workspace
    project: str = DEFAULT_PROJECT
    region: str = DEFAULT_REGION
    state_bucket: str
    emulator_endpoint: str | None = None
    github_repository: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    """The repository (owner/repo) whose workflows the `ci` stack's roles trust; GITHUB_REPOSITORY."""

    @field_validator("project")
    @classmethod
    def _project(cls, value: str) -> str:
        if not _PROJECT.match(value):
            raise ValueError(f"{value!r} is not a project name; allowed: 3-24 characters, lowercase letters, "
                             "digits and hyphens, starting with a letter")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region; allowed: e.g. us-west-2, eu-central-1")
        return value

    @field_validator("state_bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET.match(value) or ".." in value:
            raise ValueError(f"{value!r} is not an S3 bucket name; allowed: 3-63 lowercase letters, digits, "
                             "dots and hyphens")
        return value

    @field_validator("emulator_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", value):
            raise ValueError(f"{value!r} is not an endpoint URL; allowed: http(s)://host[:port]")
        return value

    @model_validator(mode="after")
    def _emulator_only_for_local(self) -> WorkspaceSettings:
        if (self.workspace == "local") != (self.emulator_endpoint is not None):
            raise ValueError(f"emulator_endpoint {self.emulator_endpoint!r} in workspace {self.workspace}; "
                             "allowed: an endpoint in the local workspace, none elsewhere")
        return self

    @property
    def is_production_like(self) -> bool:
        """Stateful resources are protected from deletion outside dev and local."""
        return self.workspace in ("staging", "prod")

    def name(self, thing: str) -> str:
        """The resource naming rule: `{project}-{workspace}-{thing}`."""
        return f"{self.project}-{self.workspace}-{thing}"
