"""The product's defaults per workspace, typed: what `dev`, `staging` and `prod` get before
their file (config/<workspace>.toml) and the environment change anything.

Reference figures: log retention 7/30/90 days, task memory 512/1024/2048 MB, task timeouts
30/60/90 s, provisioned capacity with 70 % target tracking in prod. `local` is `dev` minus
what the embedded emulator cannot host, each difference listed in LOCAL_DIFFERENCES.
"""

from __future__ import annotations

from typing import NamedTuple

from modules.config.schema import (
    AppSettings,
    CapacitySettings,
    DataSettings,
    DeploymentPreference,
    FunctionSizing,
    GatewaySettings,
    NetworkSettings,
    RolloutSettings,
    WorkspaceConfig,
)

# Staging and prod: new versions take traffic gradually, for as long as the rollback alarms
# need to fire (errors: 2 x 5 min, plus one period: 15 min; see modules/config/rules.py).
_GRADUAL_ROLLOUT = RolloutSettings(
    api_function=DeploymentPreference(
        type="Canary10Percent15Minutes",
        reason="the API takes user traffic: 10 % of it on the new version for 15 minutes, long enough for the "
               "errors, p99 duration and 5XX alarms to stop the rollout before everyone gets it"),
    task_function=DeploymentPreference(
        type="Linear10PercentEvery2Minutes",
        reason="tasks run from the workflow, the schedule and the stream, in bursts: 10 % more every 2 minutes "
               "(18 minutes in all) keeps both versions taking work while the errors alarm can still fire"),
)

_PROD_CAPACITY = CapacitySettings(min_capacity=20, max_capacity=1000, target_utilization=70.0)

DEFAULTS: dict[str, WorkspaceConfig] = {
    "dev": WorkspaceConfig(
        log_retention_days=7,
        kms_deletion_window_days=7,
        network=NetworkSettings(vpc_cidr="10.10.0.0/16", az_count=2, nat_gateway_count=1),
        data=DataSettings(point_in_time_recovery=True, deletion_protection=False),
        app=AppSettings(log_level="DEBUG", task_function=FunctionSizing(memory_mb=512, timeout_seconds=30)),
        # No reservations: 50 of the unreserved pool at 200 ms run 250 requests/s.
        api=GatewaySettings(throttle_burst_limit=50, throttle_rate_limit=100, execution_logging_level="INFO"),
    ),
    "staging": WorkspaceConfig(
        log_retention_days=30,
        kms_deletion_window_days=30,
        network=NetworkSettings(vpc_cidr="10.20.0.0/16", az_count=2, nat_gateway_count=1),
        data=DataSettings(deletion_protection=True, code_noncurrent_version_days=60),
        app=AppSettings(log_level="INFO", task_function=FunctionSizing(memory_mb=1024, timeout_seconds=60),
                        snapstart_functions=("api",)),
        api=GatewaySettings(throttle_burst_limit=50, throttle_rate_limit=200, execution_logging_level="INFO"),
        rollout=_GRADUAL_ROLLOUT,
    ),
    "prod": WorkspaceConfig(
        log_retention_days=90,
        kms_deletion_window_days=30,
        network=NetworkSettings(vpc_cidr="10.30.0.0/16", az_count=3, nat_gateway_count=3, interface_endpoints=True),
        data=DataSettings(billing_mode="PROVISIONED", read_capacity=_PROD_CAPACITY, write_capacity=_PROD_CAPACITY,
                          deletion_protection=True, code_noncurrent_version_days=90),
        app=AppSettings(
            log_level="INFO", task_function=FunctionSizing(memory_mb=2048, timeout_seconds=90),
            snapstart_functions=("api",),
            api_function=FunctionSizing(
                memory_mb=1024, timeout_seconds=29, expected_duration_ms=200, reserved_concurrency=200,
                reservation_reason="the API is the product's front door: its throttle (1000/s at 200 ms) is sized "
                                   "from these 200, which the task and stream functions of the account must not "
                                   "take")),
        # 200 reserved x 1000 / 200 ms = 1000 requests/s; the burst of 200 fills them at once.
        api=GatewaySettings(throttle_burst_limit=200, throttle_rate_limit=1000, waf_enabled=True,
                            execution_logging_level="ERROR"),
        rollout=_GRADUAL_ROLLOUT,
    ),
}


class LocalDifference(NamedTuple):
    """One setting `local` has unlike `dev`: the partial value laid over dev's, and why."""

    value: bool | dict[str, bool]
    reason: str


# `local` is `dev` (its defaults and config/dev.toml) minus what the embedded emulator cannot
# host. Every difference is listed here with its reason, and nowhere else; a file cannot
# undo one.
LOCAL_DIFFERENCES: dict[str, LocalDifference] = {
    "network": LocalDifference(
        {"enabled": False},
        "handlers run in-process next to the emulator, so VPC placement has nothing to attach to",
    ),
    "s3_guard_policies": LocalDifference(
        False,
        "the emulator evaluates S3 bucket policies but ignores their conditions, so the conditional Deny "
        "statements (TLS only, SSE-KMS uploads only) would deny every request, Terraform's state reads included",
    ),
}
