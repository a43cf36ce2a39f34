"""Cross-layer rules: settings of one layer that must fit the settings of another.

Each rule mirrors what AWS does when the layers meet (the contract suite checks the same
facts on the synthesized stacks, tests/infra/contract/rollout_rules.py), so it lives here,
apart from the per-field schema. A rule reads validated settings and returns its
violations; `modules.config.loading` names the file or variable that set the keys involved.
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.catalog import ApiTrigger, triggered_by
from modules.config.schema import ALARM_PERIOD_SECONDS, DEPLOYMENT_PREFERENCES, WorkspaceSettings, bake_minutes

# The alarms whose ALARM state stops a function's deployment and rolls it back, per class of
# function: names of AlarmSettings fields (modules/rollout.py maps them to the alarms).
ROLLBACK_ALARM_RULES: dict[str, tuple[str, ...]] = {
    "api": ("function_errors", "function_duration_p99", "api_5xx"),
    "task": ("function_errors", "function_duration_p99"),
}


@dataclass(frozen=True)
class Violation:
    """A broken rule: the key it is reported under, the other keys it reads, and why."""

    key: str
    value: object
    message: str
    related: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.related)


def api_function_name() -> str:
    [spec] = triggered_by(ApiTrigger)
    return spec.name


def api_capacity(settings: WorkspaceSettings) -> tuple[int, float]:
    """The api function's concurrency (reserved, else the assumed unreserved share) and
    the requests per second it runs at its expected duration."""
    sizing = settings.app.sizing(api_function_name())
    concurrency = sizing.reserved_concurrency or settings.app.assumed_unreserved_concurrency
    return concurrency, concurrency * 1000 / sizing.expected_duration_ms


def throttle_fits_the_api_function(settings: WorkspaceSettings) -> list[Violation]:
    """The API admits no more than its function runs: rate <= concurrency x 1000 /
    expected duration, burst <= concurrency (else Lambda throttles and API Gateway
    answers the client with a 5xx)."""
    concurrency, capacity = api_capacity(settings)
    api = settings.api
    if api.throttle_rate_limit <= capacity and api.throttle_burst_limit <= concurrency:
        return []
    duration = settings.app.sizing(api_function_name()).expected_duration_ms
    return [Violation(
        "api.throttle_rate_limit", api.throttle_rate_limit,
        f"api.throttle_rate_limit {api.throttle_rate_limit:g}/s and throttle_burst_limit "
        f"{api.throttle_burst_limit} exceed what the api function runs ({concurrency} concurrent x 1000 / "
        f"{duration} ms = {capacity:g}/s); allowed: rate <= {capacity:g} and burst <= {concurrency}, or more "
        "reserved concurrency",
        ("api.throttle_burst_limit", "app.api_function", "app.function_overrides",
         "app.assumed_unreserved_concurrency"))]


def rollouts_outlast_their_alarms(settings: WorkspaceSettings) -> list[Violation]:
    """CodeDeploy rolls back on alarm only while the deployment runs: once the last shift
    is made, an alarm no longer moves the alias back. A canary or linear preference must
    therefore bake at least as long as its slowest rollback alarm needs to fire (periods x
    5 min) plus one period, because CloudWatch aggregates on period boundaries and a
    regression that starts mid-period fills its first full period only at the next one."""
    found = []
    for kind, alarm_rules in ROLLBACK_ALARM_RULES.items():
        preference = settings.rollout.preference(kind)
        if preference.type == "AllAtOnce":
            continue
        slowest = max(alarm_rules, key=lambda rule: getattr(settings.alarms, rule).periods)
        periods = getattr(settings.alarms, slowest).periods
        needed = (periods + 1) * ALARM_PERIOD_SECONDS // 60
        if preference.bake_minutes < needed:
            enough = [name for name in DEPLOYMENT_PREFERENCES if bake_minutes(name) >= needed]
            found.append(Violation(
                f"rollout.{kind}_function.type", preference.type,
                f"makes its last shift after {preference.bake_minutes} min, before its rollback alarm {slowest} "
                f"can fire ({periods} x 5 min, plus one period to the next period boundary = {needed} min); "
                f"allowed: AllAtOnce or one of {', '.join(enough)}",
                tuple(f"alarms.{rule}.periods" for rule in alarm_rules)))
    return found


RULES = (throttle_fits_the_api_function, rollouts_outlast_their_alarms)


def violations(settings: WorkspaceSettings) -> list[Violation]:
    """Every cross-layer rule `settings` break."""
    return [violation for rule in RULES for violation in rule(settings)]
