"""Workspace configuration: one typed, validated settings model per workspace.

Everything the layers need to know about a workspace lives here, so a reviewer can
compare `dev` and `prod` in one screen. Per-user values come from environment
variables (see `ENVIRONMENT_VARIABLES`); everything else is a per-workspace default.
Bad values fail before anything is synthesized, with one message per problem naming
the field, the value and what is allowed.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from handlers.api.routes_table import ROUTES
from handlers.shared.constants import DEFAULT_EMULATOR_ENDPOINT, DEFAULT_PROJECT, DEFAULT_REGION
from modules.catalog import FUNCTIONS, ApiTrigger, FunctionSpec, triggered_by
from modules.catalog import function as catalog_function
from modules.config_errors import ConfigError, describe

WORKSPACES: tuple[str, ...] = ("local", "dev", "staging", "prod")
Workspace = Literal["local", "dev", "staging", "prod"]

# The values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

# The documented environment-variable interface (README "Configuration").
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
# Routes whose answer changes with every poll or probe: never served from the stage cache.
NEVER_CACHED_ROUTES = frozenset({("GET", "/jobs/{id}"), ("GET", "/health")})
# A usage plan MONTH counted at its longest.
SECONDS_PER_QUOTA_MONTH = 31 * 86_400
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


MemoryMb = Annotated[int, Field(ge=128, le=10240, description="Lambda memory, 128-10240 MB")]
TimeoutSeconds = Annotated[int, Field(ge=1, le=900, description="Lambda timeout, 1-900 s")]


class FunctionSizing(_Frozen):
    """Memory, timeout and (opt-in) reserved concurrency of one Lambda function."""

    memory_mb: MemoryMb = 256
    timeout_seconds: TimeoutSeconds = 30
    # Reserved concurrency is opt-in (None: the function shares the account's unreserved
    # pool). A reservation is both the function's guarantee and its ceiling, and AWS keeps
    # 100 of the account's concurrency unreserved, so reservations fail in new accounts with
    # a low quota: set one only with the reason, in `reservation_reason`.
    reserved_concurrency: int | None = Field(default=None, ge=1, le=1000)
    reservation_reason: str | None = Field(default=None, min_length=10)
    # The assumption the API's throttle is sized from: the duration of one invocation, in
    # ms, averaged over warm invocations and the occasional cold start. The API admits at
    # most concurrency x 1000 / expected_duration_ms requests per second.
    expected_duration_ms: int = Field(default=200, ge=1, le=900_000)

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
    timeout_seconds: TimeoutSeconds | None = None
    reserved_concurrency: int | None = Field(default=None, ge=1, le=1000)
    reservation_reason: str | None = Field(default=None, min_length=10)
    expected_duration_ms: int | None = Field(default=None, ge=1, le=900_000)


class CapacitySettings(_Frozen):
    """Provisioned capacity with target-tracking autoscaling (table and GSI alike)."""

    min_capacity: int = Field(ge=1, le=40000)
    max_capacity: int = Field(ge=1, le=40000)
    target_utilization: float = Field(default=70.0, ge=20.0, le=90.0)

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
    vpc_cidr: str = "10.0.0.0/16"
    az_count: int = Field(default=2, ge=2, le=3)
    nat_gateway_count: int = Field(default=1, ge=0, le=3)
    interface_endpoints: bool = False

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
    read_capacity: CapacitySettings | None = None
    write_capacity: CapacitySettings | None = None
    point_in_time_recovery: bool = True
    deletion_protection: bool = False
    code_noncurrent_version_days: int = Field(default=30, ge=30, le=90)
    log_archive_expiry_days: int = Field(default=90, ge=1, le=3650)
    dlq_retention_seconds: int = Field(default=1_209_600, ge=60, le=1_209_600)

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
    lambda_runtime: Literal["python3.11", "python3.12", "python3.13"] = "python3.13"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Sizing per class of function (`kind` in modules/catalog.py), then per function by name.
    api_function: FunctionSizing = FunctionSizing(memory_mb=512, timeout_seconds=29)
    task_function: FunctionSizing = FunctionSizing(memory_mb=512, timeout_seconds=30)
    function_overrides: dict[str, FunctionOverride] = {}
    # What a function without a reservation can count on from the account's unreserved
    # pool, which every such function of every workspace in the account shares (at least
    # 100 exist in any account that reserves; new accounts may have less in all).
    assumed_unreserved_concurrency: int = Field(default=50, ge=1, le=10000)
    # The account's concurrency quota the reservations must fit in (AWS default 1000; AWS
    # keeps 100 of it unreserved).
    account_concurrency_limit: int = Field(default=1000, ge=100)
    schedule_expression: str = "rate(1 day)"
    stream_batch_size: int = Field(default=100, ge=1, le=10000)
    stream_batching_window_seconds: int = Field(default=5, ge=0, le=300)
    stream_max_retries: int = Field(default=3, ge=0, le=10000)
    # DynamoDB Streams keeps a record 24 h: an older limit can never apply. Batches the mapping
    # gives up on go to the S3 on-failure destination in full (modules/app.py), so bounded
    # retries lose nothing.
    stream_max_record_age_seconds: int = Field(default=3600, ge=60, le=86400)
    allowed_origins: tuple[str, ...] = ()
    # Functions whose published versions start from a SnapStart snapshot (Python 3.12 and
    # later): init leaves the request path. Each restore is billed (README "Cold starts").
    snapstart_functions: tuple[str, ...] = ()

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
        if not re.fullmatch(r"(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))", value):
            raise ValueError(f"{value!r} is not a schedule; allowed: rate(N unit) or cron(...)")
        return value


class GatewaySettings(_Frozen):
    """API Gateway settings: kind, throttling, clients and quota, cache, WAF, logging, domain."""

    kind: Literal["rest", "http"] = "rest"
    # What the API admits from everyone together: requests per second and burst. API Gateway
    # applies a stage throttle to each method (route) on its own, so both are split evenly
    # over the routes; they must fit the api function's concurrency (see WorkspaceSettings).
    throttle_burst_limit: int = Field(default=50, ge=1, le=5000)
    throttle_rate_limit: float = Field(default=100, gt=0, le=10000)
    # REST kind: one API key per client, all in the usage plan, whose per-key throttle is
    # the API's share for one client; the first client keeps the original key (and the
    # `api_key_id`/`api_key_value` outputs).
    clients: tuple[str, ...] = ("default",)
    # Requests per key and month; None (the default) for no quota. A quota below what the
    # per-key throttle admits in a month locks the client out until the month ends.
    quota_per_month: int | None = Field(default=None, ge=1)
    # GET routes answered from the stage cache, with their TTL in seconds (1-3600), e.g.
    # {"GET /items/{id}": 30}; none by default: items are mutable (PUT with optimistic
    # concurrency) and jobs are polled, so a cached answer is a stale one. The cache cluster
    # exists exactly when a route is cached.
    cached_routes: dict[str, int] = {}
    cache_cluster_size: Literal["0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"] = "0.5"
    execution_logging_level: Literal["OFF", "ERROR", "INFO"] = "INFO"
    waf_enabled: bool = False
    # The per-IP rate rule counts over this window (60, 120, 300 or 600 s) and admits what
    # the throttle admits in it; a blocked client is told to retry after the window.
    waf_rate_window_seconds: Literal[60, 120, 300, 600] = 60
    # Bodies above this size are refused by the WAF (413, the product's error shape); the
    # contract suite checks it is above the largest body the contract accepts.
    waf_max_body_bytes: int = Field(default=262_144, ge=65_536, le=10 * 1024 * 1024)
    domain_name: str | None = None
    certificate_arn: str | None = None

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
        cacheable = [f"{m} {p}" for m, p in ROUTES if m == "GET" and (m, p) not in NEVER_CACHED_ROUTES]
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

            raise ValueError(f"API_DOMAIN_NAME ({shown(self.domain_name)}) and API_CERTIFICATE_ARN "
                             f"({shown(self.certificate_arn)}) must be set together; allowed: both set or neither")
        if self.domain_name is not None and not _DOMAIN.match(self.domain_name):
            raise ValueError(f"API_DOMAIN_NAME {self.domain_name!r} is not a DNS name; allowed: e.g. api.example.com")
        if self.certificate_arn is not None and not _ACM_ARN.match(self.certificate_arn):
            raise ValueError(f"API_CERTIFICATE_ARN {self.certificate_arn!r} is not an ACM certificate ARN; "
                             "allowed: arn:aws:acm:<region>:<account>:certificate/<uuid>")
        return self


class AlarmRule(_Frozen):
    """When one alarm fires: above `threshold` for `periods` consecutive 5-minute periods."""

    threshold: float = Field(ge=0)
    periods: int = Field(default=1, ge=1, le=24)


class AnyOccurrenceRule(AlarmRule):
    """Compared with >=: a threshold of 1 reports every occurrence."""

    threshold: float = Field(default=1, ge=1)


class FractionRule(AlarmRule):
    """A threshold that is a share: of requests, or of a function's timeout."""

    threshold: float = Field(gt=0, le=1)


class MillisecondsRule(AlarmRule):
    """A threshold in milliseconds (latency, record age)."""

    threshold: float = Field(ge=1)


class AlarmSettings(_Frozen):
    """Every number an alarm uses: one rule per alarm family (reference figures)."""

    function_errors: AlarmRule = AlarmRule(threshold=10, periods=2)
    function_throttles: AlarmRule = AlarmRule(threshold=5, periods=1)
    # A share of each function's own timeout.
    function_duration_p99: FractionRule = FractionRule(threshold=0.8, periods=1)
    api_5xx: AlarmRule = AlarmRule(threshold=10, periods=1)
    api_4xx_rate: FractionRule = FractionRule(threshold=0.05, periods=2)
    api_latency_p99_ms: MillisecondsRule = MillisecondsRule(threshold=2000, periods=1)
    table_throttled_requests: AlarmRule = AlarmRule(threshold=10, periods=1)
    table_system_errors: AlarmRule = AlarmRule(threshold=0, periods=1)
    # One message in a dead-letter queue is already an incident.
    dlq_visible_messages: AnyOccurrenceRule = AnyOccurrenceRule(threshold=1, periods=1)
    state_machine_failed: AlarmRule = AlarmRule(threshold=5, periods=1)
    # Any timed-out or throttled execution is reported.
    state_machine_timed_out: AnyOccurrenceRule = AnyOccurrenceRule(threshold=1, periods=1)
    state_machine_throttled: AnyOccurrenceRule = AnyOccurrenceRule(threshold=1, periods=1)
    stream_iterator_age_ms: MillisecondsRule = MillisecondsRule(threshold=60_000, periods=1)
    # A discarded stream batch the mapping could not write to its S3 destination is lost.
    stream_destination_delivery_failures: AnyOccurrenceRule = AnyOccurrenceRule(threshold=1, periods=1)


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

    type: str
    reason: str

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
    task_function: DeploymentPreference = DeploymentPreference(type="AllAtOnce", reason=_NO_BAKE)
    # How long `make rollout` waits for all deployments beyond their own bake time.
    wait_margin_minutes: int = Field(default=15, ge=1, le=240)

    def preference(self, kind: str) -> DeploymentPreference:
        return self.api_function if kind == "api" else self.task_function


# The alarms whose ALARM state stops a function's deployment and rolls it back, per class of
# function: names of AlarmSettings fields (modules/rollout.py maps them to the alarms).
ROLLBACK_ALARM_RULES: dict[str, tuple[str, ...]] = {
    "api": ("function_errors", "function_duration_p99", "api_5xx"),
    "task": ("function_errors", "function_duration_p99"),
}
ALARM_PERIOD_SECONDS = 300  # every alarm evaluates 5-minute periods (modules/observability.py)

class WorkspaceSettings(_Frozen):
    """Everything one workspace's layer stacks are built from."""

    workspace: Workspace
    project: str = DEFAULT_PROJECT
    region: str = DEFAULT_REGION
    state_bucket: str
    alert_emails: tuple[str, ...] = ()
    emulator_endpoint: str | None = None
    github_repository: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    log_retention_days: int = 7
    kms_deletion_window_days: int = Field(default=30, ge=7, le=30)
    xray_tracing: bool = True
    # Bucket policies deny requests without TLS and uploads asking for anything but SSE-KMS
    # with the workspace key (see LOCAL_DIFFERENCES).
    s3_guard_policies: bool = True
    network: NetworkSettings = NetworkSettings()
    data: DataSettings = DataSettings()
    app: AppSettings = AppSettings()
    api: GatewaySettings = GatewaySettings()
    alarms: AlarmSettings = AlarmSettings()
    rollout: RolloutSettings = RolloutSettings()

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

    @model_validator(mode="after")
    def _throttle_fits_the_api_function(self) -> WorkspaceSettings:
        """The API admits no more than its function runs: rate <= concurrency x 1000 /
        expected duration, burst <= concurrency (else Lambda throttles and API Gateway
        answers the client with a 5xx)."""
        concurrency, capacity = self.api_capacity()
        api = self.api
        if api.throttle_rate_limit > capacity or api.throttle_burst_limit > concurrency:
            raise ValueError(
                f"api.throttle_rate_limit {api.throttle_rate_limit:g}/s and throttle_burst_limit "
                f"{api.throttle_burst_limit} exceed what the api function runs ({concurrency} concurrent x 1000 / "
                f"{self.app.sizing(self._api_function_name()).expected_duration_ms} ms = {capacity:g}/s); allowed: "
                f"rate <= {capacity:g} and burst <= {concurrency}, or more reserved concurrency")
        return self

    @model_validator(mode="after")
    def _rollouts_outlast_their_alarms(self) -> WorkspaceSettings:
        """CodeDeploy rolls back on alarm only while the deployment runs: once the last shift
        is made, an alarm no longer moves the alias back. A canary or linear preference must
        therefore bake at least as long as its slowest rollback alarm needs to fire (periods x
        5 min) plus one period, because CloudWatch aggregates on period boundaries and a
        regression that starts mid-period fills its first full period only at the next one."""
        for kind, alarm_rules in ROLLBACK_ALARM_RULES.items():
            preference = self.rollout.preference(kind)
            if preference.type == "AllAtOnce":
                continue
            slowest = max(alarm_rules, key=lambda rule: getattr(self.alarms, rule).periods)
            periods = getattr(self.alarms, slowest).periods
            needed = (periods + 1) * ALARM_PERIOD_SECONDS // 60
            if preference.bake_minutes < needed:
                enough = [name for name in DEPLOYMENT_PREFERENCES if bake_minutes(name) >= needed]
                raise ValueError(
                    f"rollout.{kind}_function {preference.type} makes its last shift after {preference.bake_minutes} "
                    f"min, before its rollback alarm {slowest} can fire ({periods} x 5 min, plus one period to the "
                    f"next period boundary = {needed} min); allowed: AllAtOnce or one of {', '.join(enough)}")
        return self

    @staticmethod
    def _api_function_name() -> str:
        [spec] = triggered_by(ApiTrigger)
        return spec.name

    def api_capacity(self) -> tuple[int, float]:
        """The api function's concurrency (reserved, else the assumed unreserved share) and
        the requests per second it runs at its expected duration."""
        sizing = self.app.sizing(self._api_function_name())
        concurrency = sizing.reserved_concurrency or self.app.assumed_unreserved_concurrency
        return concurrency, concurrency * 1000 / sizing.expected_duration_ms

    @property
    def is_production_like(self) -> bool:
        """Stateful resources are protected from deletion outside dev and local."""
        return self.workspace in ("staging", "prod")

    def name(self, thing: str) -> str:
        """The resource naming rule: `{project}-{workspace}-{thing}`."""
        return f"{self.project}-{self.workspace}-{thing}"


def _task(memory: int, timeout: int) -> dict[str, int]:
    return {"memory_mb": memory, "timeout_seconds": timeout}


# Staging and prod: new versions take traffic gradually, for as long as the rollback alarms
# need to fire (errors: 2 x 5 min, plus one period: 15 min; see _rollouts_outlast_their_alarms).
_GRADUAL_ROLLOUT: dict[str, Any] = {
    "api_function": {
        "type": "Canary10Percent15Minutes",
        "reason": "the API takes user traffic: 10 % of it on the new version for 15 minutes, long enough for the "
                  "errors, p99 duration and 5XX alarms to stop the rollout before everyone gets it"},
    "task_function": {
        "type": "Linear10PercentEvery2Minutes",
        "reason": "tasks run from the workflow, the schedule and the stream, in bursts: 10 % more every 2 minutes "
                  "(18 minutes in all) keeps both versions taking work while the errors alarm can still fire"},
}

# Per-workspace defaults (reference figures: retention 7/30/90, memory 512/1024/2048,
# timeouts 30/60/90, provisioned capacity with 70 % target tracking in prod).
_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "log_retention_days": 7,
        "kms_deletion_window_days": 7,
        "network": {"vpc_cidr": "10.10.0.0/16", "az_count": 2, "nat_gateway_count": 1},
        "data": {"point_in_time_recovery": True, "deletion_protection": False},
        "app": {"log_level": "DEBUG", "task_function": _task(512, 30)},
        # No reservations: 50 of the unreserved pool at 200 ms run 250 requests/s.
        "api": {"throttle_burst_limit": 50, "throttle_rate_limit": 100, "execution_logging_level": "INFO"},
    },
    "staging": {
        "log_retention_days": 30,
        "kms_deletion_window_days": 30,
        "network": {"vpc_cidr": "10.20.0.0/16", "az_count": 2, "nat_gateway_count": 1},
        "data": {"deletion_protection": True, "code_noncurrent_version_days": 60},
        "app": {"log_level": "INFO", "task_function": _task(1024, 60), "snapstart_functions": ("api",)},
        "api": {"throttle_burst_limit": 50, "throttle_rate_limit": 200, "execution_logging_level": "INFO"},
        "rollout": _GRADUAL_ROLLOUT,
    },
    "prod": {
        "log_retention_days": 90,
        "kms_deletion_window_days": 30,
        "network": {"vpc_cidr": "10.30.0.0/16", "az_count": 3, "nat_gateway_count": 3,
                    "interface_endpoints": True},
        "data": {
            "billing_mode": "PROVISIONED",
            "read_capacity": {"min_capacity": 20, "max_capacity": 1000, "target_utilization": 70.0},
            "write_capacity": {"min_capacity": 20, "max_capacity": 1000, "target_utilization": 70.0},
            "deletion_protection": True,
            "code_noncurrent_version_days": 90,
        },
        "app": {"log_level": "INFO", "task_function": _task(2048, 90), "snapstart_functions": ("api",),
                "api_function": {
                    "memory_mb": 1024, "timeout_seconds": 29, "expected_duration_ms": 200,
                    "reserved_concurrency": 200,
                    "reservation_reason": "the API is the product's front door: its throttle (1000/s at 200 ms) "
                                          "is sized from these 200, which the task and stream functions of the "
                                          "account must not take"}},
        # 200 reserved x 1000 / 200 ms = 1000 requests/s; the burst of 200 fills them at once.
        "api": {"throttle_burst_limit": 200, "throttle_rate_limit": 1000, "waf_enabled": True,
                "execution_logging_level": "ERROR"},
        "rollout": _GRADUAL_ROLLOUT,
    },
}

# `local` is `dev` minus what the embedded emulator cannot host. Every difference is
# listed here with its reason, and nowhere else.
LOCAL_DIFFERENCES: dict[str, tuple[Any, str]] = {
    "network": (
        {"enabled": False},
        "handlers run in-process next to the emulator, so VPC placement has nothing to attach to",
    ),
    "s3_guard_policies": (
        False,
        "the emulator evaluates S3 bucket policies but ignores their conditions, so the conditional Deny "
        "statements (TLS only, SSE-KMS uploads only) would deny every request, Terraform's state reads included",
    ),
}


def _local_defaults() -> dict[str, Any]:
    merged = _deep_merge({}, _DEFAULTS["dev"])
    for key, (value, _reason) in LOCAL_DIFFERENCES.items():
        merged[key] = _deep_merge(merged.get(key, {}), value) if isinstance(value, dict) else value
    return merged


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _split(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def settings_for(workspace: str, environ: Mapping[str, str],
                 overrides: Mapping[str, Any] | None = None) -> WorkspaceSettings:
    """Build and validate one workspace's settings from its defaults, `overrides` (a
    partial settings dict merged over the defaults) and the environment."""
    if workspace not in WORKSPACES:
        raise ConfigError([f"workspace {workspace!r} is not a workspace; allowed: {', '.join(WORKSPACES)}"])
    project = environ.get("PROJECT_NAME") or DEFAULT_PROJECT
    region = environ.get("DEPLOY_REGION") or DEFAULT_REGION
    defaults = _deep_merge(_local_defaults() if workspace == "local" else _DEFAULTS[workspace], overrides or {})
    # The state bucket's default is derived from the project and the region.
    derived = frozenset() if environ.get("STATE_BUCKET") else frozenset({"state_bucket"})
    from_environment: dict[str, Any] = {
        "workspace": workspace,
        "project": project,
        "region": region,
        "state_bucket": environ.get("STATE_BUCKET") or f"{project}-tfstate-{region}",
        "alert_emails": _split(environ.get("ALERT_EMAILS")),
        "github_repository": environ.get("GITHUB_REPOSITORY") or None,
        "emulator_endpoint": (environ.get("EMULATOR_ENDPOINT") or DEFAULT_EMULATOR_ENDPOINT)
        if workspace == "local" else None,
    }
    if environ.get("VPC_CIDR"):
        from_environment["network"] = {"vpc_cidr": environ["VPC_CIDR"]}
    api: dict[str, Any] = {}
    domain, certificate = environ.get("API_DOMAIN_NAME"), environ.get("API_CERTIFICATE_ARN")
    if domain or certificate:
        api.update({"domain_name": domain or None, "certificate_arn": certificate or None})
    if environ.get("API_KIND"):
        api["kind"] = environ["API_KIND"]
    if api:
        from_environment["api"] = api
    data = _deep_merge(defaults, from_environment)
    try:
        return WorkspaceSettings.model_validate(data)
    except ValidationError as err:
        raise ConfigError(describe(err, WorkspaceSettings, workspace, derived)) from None


def load_settings(environ: Mapping[str, str]) -> list[WorkspaceSettings]:
    """Validate the whole configuration; raise one ConfigError listing every problem."""
    selected = _split(environ.get("WORKSPACES")) or WORKSPACES
    unknown = [w for w in selected if w not in WORKSPACES]
    if unknown:
        raise ConfigError([f"WORKSPACES: {', '.join(map(repr, unknown))} is not a workspace; "
                           f"allowed: {', '.join(WORKSPACES)}"])
    problems: list[str] = []
    result: list[WorkspaceSettings] = []
    for workspace in dict.fromkeys(selected):
        try:
            result.append(settings_for(workspace, environ))
        except ConfigError as err:
            problems.extend(err.problems)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return result
