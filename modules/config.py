"""Workspace configuration: one typed, validated settings model per workspace.

Everything the layers need to know about a workspace lives here, so a reviewer can
compare `dev` and `prod` in one screen. Per-user values come from environment
variables (see `ENVIRONMENT_VARIABLES`); everything else is a per-workspace default.
Bad values fail before anything is synthesized, with one message per problem naming
the field, the value and what is allowed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

WORKSPACES: tuple[str, ...] = ("local", "dev", "staging", "prod")
Workspace = Literal["local", "dev", "staging", "prod"]

# The values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

# The documented environment-variable interface (README "Configuration").
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "WORKSPACES": "comma-separated workspaces to synthesize (default: all of local, dev, staging, prod)",
    "PROJECT_NAME": "project name used in every resource name (default: serverless-app)",
    "DEPLOY_REGION": "AWS region (default: us-west-2)",
    "STATE_BUCKET": "Terraform state bucket (default: {project}-tfstate-{region})",
    "ALERT_EMAILS": "comma-separated e-mail addresses subscribed to the alert topic",
    "API_DOMAIN_NAME": "optional custom API domain (set together with API_CERTIFICATE_ARN)",
    "API_CERTIFICATE_ARN": "ACM certificate ARN for API_DOMAIN_NAME",
    "EMULATOR_ENDPOINT": "AWS emulator endpoint used by the local workspace (default: http://127.0.0.1:4566)",
    "VPC_CIDR": "overrides the VPC CIDR of every selected workspace (default: per workspace)",
    "API_KIND": "rest (default: REST API with keys and usage plans) or http (HTTP API variant)",
}

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{1,22}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class ConfigError(ValueError):
    """Raised with one line per configuration problem: field, value, what is allowed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


MemoryMb = Annotated[int, Field(ge=128, le=10240, description="Lambda memory, 128-10240 MB")]
TimeoutSeconds = Annotated[int, Field(ge=1, le=900, description="Lambda timeout, 1-900 s")]


class FunctionSettings(_Frozen):
    """Sizing of one Lambda function."""

    memory_mb: MemoryMb = 256
    timeout_seconds: TimeoutSeconds = 30
    # Reserved so one runaway function cannot starve the others (and bounds cost).
    reserved_concurrency: int = Field(default=10, ge=1, le=1000)


class FunctionOverride(_Frozen):
    """Per-function sizing override: only the fields set replace the function's class default."""

    memory_mb: MemoryMb | None = None
    timeout_seconds: TimeoutSeconds | None = None
    reserved_concurrency: int | None = Field(default=None, ge=1, le=1000)


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
    api_function: FunctionSettings = FunctionSettings(memory_mb=512, timeout_seconds=29, reserved_concurrency=50)
    task_function: FunctionSettings = FunctionSettings(memory_mb=512, timeout_seconds=30)
    function_overrides: dict[str, FunctionOverride] = {}
    schedule_expression: str = "rate(1 day)"
    stream_batch_size: int = Field(default=100, ge=1, le=10000)
    stream_batching_window_seconds: int = Field(default=5, ge=0, le=300)
    stream_max_retries: int = Field(default=3, ge=0, le=10000)
    stream_max_record_age_seconds: int = Field(default=3600, ge=60, le=604800)
    allowed_origins: tuple[str, ...] = ()

    @field_validator("function_overrides")
    @classmethod
    def _known_functions(cls, value: dict[str, FunctionOverride]) -> dict[str, FunctionOverride]:
        from modules.catalog import FUNCTIONS  # pure data module; imported here to keep config's imports minimal

        allowed = [spec.name for spec in FUNCTIONS]
        for name in value:
            if name not in allowed:
                raise ValueError(f"function_overrides key {name!r} is not a function; allowed: {', '.join(allowed)}")
        return value

    def sizing(self, function: str) -> FunctionSettings:
        """Memory, timeout and reserved concurrency of one function (by catalog name):
        its class default (`api_function`/`task_function`) with its override applied."""
        from modules.catalog import function as catalog_function

        base = self.api_function if catalog_function(function).kind == "api" else self.task_function
        override = self.function_overrides.get(function)
        if override is None:
            return base
        return base.model_copy(update=override.model_dump(exclude_none=True))

    @field_validator("schedule_expression")
    @classmethod
    def _schedule(cls, value: str) -> str:
        if not re.fullmatch(r"(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))", value):
            raise ValueError(f"{value!r} is not a schedule; allowed: rate(N unit) or cron(...)")
        return value


class ApiSettings(_Frozen):
    """Settings the API layer reads."""

    kind: Literal["rest", "http"] = "rest"
    throttle_burst_limit: int = Field(default=5000, ge=1, le=10000)
    throttle_rate_limit: float = Field(default=10000, gt=0, le=10000)
    quota_per_month: int = Field(default=1_000_000, ge=1)
    cache_cluster_enabled: bool = False
    cache_cluster_size: Literal["0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237"] = "0.5"
    execution_logging_level: Literal["OFF", "ERROR", "INFO"] = "INFO"
    waf_enabled: bool = False
    waf_rate_limit_per_5_minutes: int = Field(default=2000, ge=100, le=2_000_000_000)
    # API Gateway's CloudWatch role is one setting per account and region: exactly one
    # workspace per account should manage it (README "API Gateway account settings").
    manage_account_logging_role: bool = False
    domain_name: str | None = None
    certificate_arn: str | None = None

    @model_validator(mode="after")
    def _domain_pair(self) -> ApiSettings:
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


class AlarmSettings(_Frozen):
    """Alarm thresholds (reference figures) and evaluation periods (each a count of 5-minute
    periods). Every number an alarm uses comes from here."""

    function_errors: int = Field(default=10, ge=0)
    function_errors_periods: int = Field(default=2, ge=1, le=24)
    function_throttles: int = Field(default=5, ge=0)
    function_throttles_periods: int = Field(default=1, ge=1, le=24)
    duration_p99_fraction_of_timeout: float = Field(default=0.8, gt=0, le=1)
    duration_p99_periods: int = Field(default=1, ge=1, le=24)
    api_5xx: int = Field(default=10, ge=0)
    api_5xx_periods: int = Field(default=1, ge=1, le=24)
    api_4xx_rate: float = Field(default=0.05, gt=0, le=1)
    api_4xx_periods: int = Field(default=2, ge=1, le=24)
    api_latency_p99_ms: int = Field(default=2000, ge=1)
    api_latency_p99_periods: int = Field(default=1, ge=1, le=24)
    table_throttled_requests: int = Field(default=10, ge=0)
    table_throttled_requests_periods: int = Field(default=1, ge=1, le=24)
    table_system_errors: int = Field(default=0, ge=0)
    table_system_errors_periods: int = Field(default=1, ge=1, le=24)
    # Compared with >=: one message in a dead-letter queue is already an incident.
    dlq_visible_messages: int = Field(default=1, ge=1)
    dlq_visible_periods: int = Field(default=1, ge=1, le=24)
    state_machine_failed: int = Field(default=5, ge=0)
    state_machine_failed_periods: int = Field(default=1, ge=1, le=24)
    # Compared with >=: any timed-out or throttled execution is reported.
    state_machine_timed_out: int = Field(default=1, ge=1)
    state_machine_timed_out_periods: int = Field(default=1, ge=1, le=24)
    state_machine_throttled: int = Field(default=1, ge=1)
    state_machine_throttled_periods: int = Field(default=1, ge=1, le=24)
    stream_iterator_age_ms: int = Field(default=60_000, ge=1000)
    stream_iterator_age_periods: int = Field(default=1, ge=1, le=24)


class WorkspaceSettings(_Frozen):
    """Everything one workspace's layer stacks are built from."""

    workspace: Workspace
    project: str = "serverless-app"
    region: str = "us-west-2"
    state_bucket: str
    alert_emails: tuple[str, ...] = ()
    emulator_endpoint: str | None = None
    log_retention_days: int = 7
    kms_deletion_window_days: int = Field(default=30, ge=7, le=30)
    xray_tracing: bool = True
    # Bucket policies deny requests without TLS and uploads asking for anything but SSE-KMS
    # with the workspace key (see LOCAL_DIFFERENCES).
    s3_guard_policies: bool = True
    network: NetworkSettings = NetworkSettings()
    data: DataSettings = DataSettings()
    app: AppSettings = AppSettings()
    api: ApiSettings = ApiSettings()
    alarms: AlarmSettings = AlarmSettings()

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

    @property
    def is_production_like(self) -> bool:
        """Stateful resources are protected from deletion outside dev and local."""
        return self.workspace in ("staging", "prod")

    def name(self, thing: str) -> str:
        """The resource naming rule: `{project}-{workspace}-{thing}`."""
        return f"{self.project}-{self.workspace}-{thing}"


def _task(memory: int, timeout: int) -> dict[str, int]:
    return {"memory_mb": memory, "timeout_seconds": timeout}


# Per-workspace defaults (reference figures: retention 7/30/90, memory 512/1024/2048,
# timeouts 30/60/90, provisioned capacity with 70 % target tracking in prod).
_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {
        "log_retention_days": 7,
        "kms_deletion_window_days": 7,
        "network": {"vpc_cidr": "10.10.0.0/16", "az_count": 2, "nat_gateway_count": 1},
        "data": {"point_in_time_recovery": True, "deletion_protection": False},
        "app": {"log_level": "DEBUG", "task_function": _task(512, 30)},
        "api": {"throttle_burst_limit": 500, "throttle_rate_limit": 1000, "execution_logging_level": "INFO"},
    },
    "staging": {
        "log_retention_days": 30,
        "kms_deletion_window_days": 30,
        "network": {"vpc_cidr": "10.20.0.0/16", "az_count": 2, "nat_gateway_count": 1},
        "data": {"deletion_protection": True, "code_noncurrent_version_days": 60},
        "app": {"log_level": "INFO", "task_function": _task(1024, 60)},
        "api": {"throttle_burst_limit": 2000, "throttle_rate_limit": 5000, "execution_logging_level": "INFO"},
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
        "app": {"log_level": "INFO", "task_function": _task(2048, 90),
                "api_function": {"memory_mb": 1024, "timeout_seconds": 29, "reserved_concurrency": 100}},
        "api": {"throttle_burst_limit": 5000, "throttle_rate_limit": 10000, "waf_enabled": True,
                "execution_logging_level": "ERROR", "cache_cluster_enabled": True,
                "manage_account_logging_role": True},
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


# Settings fields that come from an environment variable: problems with them are
# reported under the variable's name, once, however many workspaces are selected.
_FIELD_TO_VARIABLE = {
    "project": "PROJECT_NAME",
    "region": "DEPLOY_REGION",
    "state_bucket": "STATE_BUCKET",
    "alert_emails": "ALERT_EMAILS",
    "emulator_endpoint": "EMULATOR_ENDPOINT",
    "network.vpc_cidr": "VPC_CIDR",
    "api": "API_DOMAIN_NAME/API_CERTIFICATE_ARN",
    "api.kind": "API_KIND",
}


_BOUND_ERRORS = ("greater_than_equal", "greater_than", "less_than_equal", "less_than")


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    candidates = (annotation, *get_args(annotation))
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)


def _allowed_range(loc: tuple[int | str, ...]) -> str:
    """The bounds of a numeric setting, read from the model itself (e.g. `128 to 10240`)."""
    model: type[BaseModel] | None = WorkspaceSettings
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if model else None
        model = _nested_model(field.annotation) if field else None
    field = model.model_fields.get(str(loc[-1])) if model else None
    bounds = {name: getattr(rule, name) for rule in (field.metadata if field else ())
              for name in ("ge", "gt", "le", "lt") if getattr(rule, name, None) is not None}
    if "ge" in bounds and "le" in bounds:
        return f"{bounds['ge']} to {bounds['le']}"
    phrases = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
    return ", ".join(f"{phrases[name]} {bound}" for name, bound in bounds.items())


def _message(item: Any) -> str:
    """Pydantic's text for one error, rephrased to end in what is allowed."""
    if item["type"] in _BOUND_ERRORS:
        return f"out of range; allowed: {_allowed_range(item['loc'])}"
    if item["type"] == "literal_error":
        return f"not a known value; allowed: {item['ctx']['expected']}"
    return str(item["msg"]).removeprefix("Value error, ")


def _describe(error: ValidationError, workspace: str, derived: frozenset[str] = frozenset()) -> list[str]:
    """One line per problem: the variable (or workspace setting), the value, what is allowed.
    A value the user did not set but that is derived from others (`derived`) is only
    reported when nothing else is wrong: its error would blame a variable nobody set."""
    found = [(item, ".".join(str(part) for part in item["loc"]) or "settings") for item in error.errors()]
    if any(field not in derived for _item, field in found):
        found = [(item, field) for item, field in found if field not in derived]
    problems = []
    for item, field in found:
        value = item.get("input")
        shown = "" if isinstance(value, (dict, tuple)) or field == "settings" else f" (value {value!r})"
        variable = _FIELD_TO_VARIABLE.get(field)
        where = f"{variable} ({field})" if variable else f"{workspace}: {field}"
        problems.append(f"{where}{shown}: {_message(item)}")
    return problems


def settings_for(workspace: str, environ: Mapping[str, str],
                 overrides: Mapping[str, Any] | None = None) -> WorkspaceSettings:
    """Build and validate one workspace's settings from its defaults, `overrides` (a
    partial settings dict merged over the defaults) and the environment."""
    project = environ.get("PROJECT_NAME") or "serverless-app"
    region = environ.get("DEPLOY_REGION") or "us-west-2"
    defaults = _deep_merge(_local_defaults() if workspace == "local" else _DEFAULTS[workspace], overrides or {})
    # The state bucket's default is derived from the project and the region.
    derived = frozenset() if environ.get("STATE_BUCKET") else frozenset({"state_bucket"})
    from_environment: dict[str, Any] = {
        "workspace": workspace,
        "project": project,
        "region": region,
        "state_bucket": environ.get("STATE_BUCKET") or f"{project}-tfstate-{region}",
        "alert_emails": _split(environ.get("ALERT_EMAILS")),
        "emulator_endpoint": (environ.get("EMULATOR_ENDPOINT") or "http://127.0.0.1:4566")
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
        raise ConfigError(_describe(err, workspace, derived)) from None


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
