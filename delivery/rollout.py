"""`make rollout WORKSPACE=<ws>`: move every function's `live` alias to its newest published
version through CodeDeploy, after the app layer is applied.

For each function deployed through CodeDeploy (modules.catalog.rolled_out): when its newest
published version differs from the version `live` points at, one deployment in the function's
deployment group with an AppSpec naming the function, the alias, the current and the target
version and the pre-traffic hook; a deployment already running in the group is followed
instead of starting another. CodeDeploy shifts the traffic as the group's configuration says
(all at once, canary or linear; modules/codedeploy.py), and rolls back when the hook fails or
a rollback alarm fires. Progress lines while it waits; a summary at the end.

Exit codes: 0 every deployment succeeded or nothing changed, 1 a deployment failed and was
rolled back (or stopped), 2 the rollout could not run (configuration, AWS errors, time out).
The `local` workspace talks to the emulator of `make up` (EMULATOR_ENDPOINT); every other
workspace to AWS with the usual credentials chain (AWS_PROFILE, OIDC role in CI).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from handlers.shared.constants import LIVE_ALIAS
from modules.catalog import FUNCTIONS, FunctionSpec, rolled_out
from modules.config import ConfigError, WorkspaceSettings, settings_for
from modules.product_defaults import EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY
from modules.rollout import application_name, deployment_group_name, hook_function

EXIT_OK, EXIT_ROLLED_BACK, EXIT_ERROR = 0, 1, 2
ACTIVE_STATUSES = ["Created", "Queued", "InProgress", "Baking", "Ready"]
DONE_STATUSES = {"Succeeded", "Failed", "Stopped"}
HEARTBEAT_SECONDS = 30


class RolloutError(RuntimeError):
    """The rollout could not run; the message names the function and the AWS error."""


@dataclass
class FunctionRollout:
    """One function's state and, once started or found, its deployment."""

    spec: FunctionSpec
    function_name: str
    group: str
    live_version: str
    newest_version: str
    deployment_id: str | None = None
    followed: bool = False  # a deployment that was already running
    status: str = "unchanged"
    detail: str = ""
    started: float = field(default_factory=time.monotonic)
    last_line: float = 0.0

    @property
    def changed(self) -> bool:
        return self.live_version != self.newest_version


def client(settings: WorkspaceSettings, service: str) -> Any:
    """A boto3 client of the workspace's AWS: the emulator for `local`, else the credentials chain."""
    options: dict[str, Any] = {"region_name": settings.region,
                               "config": Config(retries={"mode": "standard", "max_attempts": 5})}
    if settings.emulator_endpoint:
        options |= {"endpoint_url": settings.emulator_endpoint, "aws_access_key_id": EMULATOR_ACCESS_KEY_ID,
                    "aws_secret_access_key": EMULATOR_SECRET_ACCESS_KEY}
    return boto3.client(service, **options)  # type: ignore[call-overload]  # the service is a parameter


def clients(settings: WorkspaceSettings) -> tuple[Any, Any]:
    """(lambda, codedeploy) clients for the workspace."""
    return client(settings, "lambda"), client(settings, "codedeploy")


def appspec(rollout: FunctionRollout, hook_name: str) -> str:
    """The AppSpec of a Lambda deployment (AWS CodeDeploy user guide, "AppSpec file example for
    an AWS Lambda deployment"), as JSON content."""
    return json.dumps({
        "version": 0.0,
        "Resources": [{rollout.spec.construct_id: {"Type": "AWS::Lambda::Function", "Properties": {
            "Name": rollout.function_name, "Alias": LIVE_ALIAS,
            "CurrentVersion": rollout.live_version, "TargetVersion": rollout.newest_version}}}],
        "Hooks": [{"BeforeAllowTraffic": hook_name}],
    }, sort_keys=True)


def _versions(lambda_client: Any, function_name: str) -> list[int]:
    versions: list[int] = []
    for page in lambda_client.get_paginator("list_versions_by_function").paginate(FunctionName=function_name):
        versions += [int(v["Version"]) for v in page["Versions"] if v["Version"].isdigit()]
    return sorted(versions)


def _newest_version(lambda_client: Any, function_name: str) -> str:
    versions = _versions(lambda_client, function_name)
    if not versions:
        raise RolloutError(f"{function_name} has no published version: apply the app layer first")
    return str(max(versions))


def inspect(settings: WorkspaceSettings, lambda_client: Any,
            functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> list[FunctionRollout]:
    """Where every function's `live` alias points, and its newest published version."""
    found = []
    for spec in rolled_out(functions):
        name = settings.name(spec.name)
        try:
            alias = lambda_client.get_alias(FunctionName=name, Name=LIVE_ALIAS)
            newest = _newest_version(lambda_client, name)
        except (ClientError, BotoCoreError) as err:
            raise RolloutError(f"{spec.name}: cannot read {name}:{LIVE_ALIAS} ({err}); is the app layer of "
                               f"{settings.workspace} applied?") from None
        found.append(FunctionRollout(spec, name, deployment_group_name(settings, spec),
                                     str(alias["FunctionVersion"]), newest))
    return found


def start(settings: WorkspaceSettings, codedeploy: Any, rollouts: list[FunctionRollout],
          functions: tuple[FunctionSpec, ...], log: Callable[[str], None]) -> None:
    """One deployment per changed function (or the one already running in its group)."""
    application = application_name(settings)
    hook_name = settings.name(hook_function(functions).name)
    for rollout in rollouts:
        try:
            running = codedeploy.list_deployments(applicationName=application, deploymentGroupName=rollout.group,
                                                  includeOnlyStatuses=ACTIVE_STATUSES).get("deployments", [])
            if running:
                rollout.deployment_id, rollout.followed, rollout.status = running[0], True, "Created"
                log(f"  {rollout.spec.name}: deployment {running[0]} already running: following it")
                continue
            if not rollout.changed:
                log(f"  {rollout.spec.name}: unchanged, {LIVE_ALIAS} on version {rollout.live_version}")
                continue
            preference = settings.rollout.preference(rollout.spec.kind)
            rollout.deployment_id = codedeploy.create_deployment(
                applicationName=application, deploymentGroupName=rollout.group,
                revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": appspec(rollout, hook_name)}},
                description=f"make rollout: {rollout.spec.name} {rollout.live_version} -> {rollout.newest_version}",
            )["deploymentId"]
        except (ClientError, BotoCoreError) as err:
            raise RolloutError(f"{rollout.spec.name}: cannot start a deployment in {application}/{rollout.group} "
                               f"({err})") from None
        rollout.status, rollout.started = "Created", time.monotonic()
        log(f"  {rollout.spec.name}: version {rollout.live_version} -> {rollout.newest_version}: deployment "
            f"{rollout.deployment_id} ({preference.type})")


def _traffic(lambda_client: Any, rollout: FunctionRollout) -> str:
    """Where `live` sends traffic now, e.g. "live on 3, 10 % on 4"."""
    alias = lambda_client.get_alias(FunctionName=rollout.function_name, Name=LIVE_ALIAS)
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    shifted = "".join(f", {weight * 100:.0f} % on {version}" for version, weight in weights.items())
    return f"{LIVE_ALIAS} on {alias['FunctionVersion']}{shifted}"


def _outcome(info: Mapping[str, Any]) -> str:
    error = info.get("errorInformation") or {}
    rollback = info.get("rollbackInfo") or {}
    parts = [f"{error.get('code', '?')}: {error.get('message', '')}".strip()] if error else []
    if rollback:
        parts.append(f"rolled back by {rollback.get('rollbackDeploymentId') or 'CodeDeploy'}"
                     + (f" ({rollback['rollbackMessage']})" if rollback.get("rollbackMessage") else ""))
    return "; ".join(parts)


def wait(codedeploy: Any, lambda_client: Any, rollouts: list[FunctionRollout], timeout_seconds: float,
         poll_seconds: float, log: Callable[[str], None]) -> None:
    """Poll every running deployment until each ends; a line on each change and every 30 s."""
    deadline = time.monotonic() + timeout_seconds
    pending = [r for r in rollouts if r.deployment_id]
    while pending:
        for rollout in list(pending):
            try:
                info = codedeploy.get_deployment(deploymentId=rollout.deployment_id)["deploymentInfo"]
                status = info["status"]
                now = time.monotonic()
                if status != rollout.status or now - rollout.last_line >= HEARTBEAT_SECONDS:
                    elapsed = now - rollout.started
                    log(f"  {rollout.spec.name}: {status}, {_traffic(lambda_client, rollout)} ({elapsed:.0f} s)")
                    rollout.status, rollout.last_line = status, now
            except (ClientError, BotoCoreError) as err:
                raise RolloutError(f"{rollout.spec.name}: cannot read deployment {rollout.deployment_id} "
                                   f"({err})") from None
            if status in DONE_STATUSES:
                rollout.detail = _outcome(info)
                if status != "Succeeded":
                    log(f"  {rollout.spec.name}: {rollout.detail or status}")
                pending.remove(rollout)
        if pending and time.monotonic() > deadline:
            names = ", ".join(f"{r.spec.name} ({r.deployment_id})" for r in pending)
            raise RolloutError(f"deployments still running after {timeout_seconds / 60:.0f} min: {names}; "
                               "`aws deploy get-deployment --deployment-id <id>` shows where they are")
        if pending:
            time.sleep(poll_seconds)


def _aliased(lambda_client: Any, function_name: str) -> set[int]:
    """Versions an alias points at or routes a share of traffic to."""
    found: set[int] = set()
    for alias in lambda_client.list_aliases(FunctionName=function_name).get("Aliases", []):
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        found |= {int(v) for v in [alias["FunctionVersion"], *weights] if str(v).isdigit()}
    return found


def pruned(functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> list[FunctionSpec]:
    """The functions whose old versions every rollout deletes: all it rolls out (the hook's
    alias follows Terraform's newest version and publishes no SnapStart snapshot)."""
    return rolled_out(functions)


def prune(lambda_client: Any, rollout: FunctionRollout, log: Callable[[str], None]) -> list[int]:
    """Delete the published versions older than the oldest one a rollback can need; returns them.

    Kept: every version an alias points or routes at (`live`, and its previous version while
    CodeDeploy shifts), the version `live` pointed at before this rollout (CodeDeploy's
    rollback target, and `make rollback`'s) and the newest one. Older versions serve nothing;
    with SnapStart each still costs snapshot caching and restoration charges for as long as it
    exists (AWS Lambda developer guide, "Improving startup performance with Lambda
    SnapStart", pricing: "you can delete unused function versions"), and every version
    counts against the region's code storage quota ("Lambda quotas", 75 GB). A version that
    cannot be deleted is reported and left; the rollout's outcome does not change."""
    name = rollout.function_name
    try:
        keep = _aliased(lambda_client, name) | {int(rollout.live_version), int(rollout.newest_version)}
        stale = [v for v in _versions(lambda_client, name) if v < min(keep)]
    except (ClientError, BotoCoreError) as err:
        log(f"  {rollout.spec.name}: old versions not pruned ({err})")
        return []
    deleted = []
    for version in stale:
        try:
            lambda_client.delete_function(FunctionName=name, Qualifier=str(version))
            deleted.append(version)
        except (ClientError, BotoCoreError) as err:
            log(f"  {rollout.spec.name}: version {version} not deleted ({err})")
    if deleted:
        kept = ", ".join(str(v) for v in sorted(keep))
        log(f"  {rollout.spec.name}: deleted versions {', '.join(map(str, deleted))} (kept {kept})")
    return deleted


def _prunable(rollouts: list[FunctionRollout], functions: tuple[FunctionSpec, ...]) -> list[FunctionRollout]:
    names = {spec.name for spec in pruned(functions)}
    return [r for r in rollouts if r.spec.name in names]


def summary(workspace: str, rollouts: list[FunctionRollout]) -> tuple[str, int]:
    """One line, and the exit code."""
    shifted = [r for r in rollouts if r.status == "Succeeded"]
    failed = [r for r in rollouts if r.status in ("Failed", "Stopped")]
    unchanged = [r for r in rollouts if r.deployment_id is None]

    def names(group: list[FunctionRollout]) -> str:
        moves = ", ".join(f"{r.spec.name} {r.live_version} -> {r.newest_version}" for r in group)
        return f" ({moves})" if group else ""

    line = (f"rollout {workspace}: {len(shifted)} shifted{names(shifted)}, {len(failed)} rolled back{names(failed)}, "
            f"{len(unchanged)} unchanged")
    return line, EXIT_ROLLED_BACK if failed else EXIT_OK


def timeout_for(settings: WorkspaceSettings) -> float:
    """The longest deployment's bake time plus the configured margin, in seconds."""
    bake = max(settings.rollout.api_function.bake_minutes, settings.rollout.task_function.bake_minutes)
    return (bake + settings.rollout.wait_margin_minutes) * 60.0


def rollout(settings: WorkspaceSettings, log: Callable[[str], None], poll_seconds: float | None = None,
            functions: tuple[FunctionSpec, ...] = FUNCTIONS, timeout_seconds: float | None = None) -> int:
    """Run the rollout of one workspace; the exit code."""
    lambda_client, codedeploy = clients(settings)
    log(f"rollout {settings.workspace}: CodeDeploy application {application_name(settings)}")
    rollouts = inspect(settings, lambda_client, functions)
    start(settings, codedeploy, rollouts, functions, log)
    if not any(r.deployment_id for r in rollouts):
        for rollout_ in _prunable(rollouts, functions):
            prune(lambda_client, rollout_, log)
        log(f"rollout {settings.workspace}: nothing to roll out, every {LIVE_ALIAS} alias is on its newest version")
        return EXIT_OK
    poll = poll_seconds if poll_seconds is not None else (0.5 if settings.emulator_endpoint else 10.0)
    wait(codedeploy, lambda_client, rollouts, timeout_seconds or timeout_for(settings), poll, log)
    # Only once every deployment has ended: while one shifts, both its versions are live.
    for rollout_ in _prunable(rollouts, functions):
        prune(lambda_client, rollout_, log)
    line, code = summary(settings.workspace, rollouts)
    log(line)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.rollout", description=__doc__.split("\n")[0])
    parser.add_argument("workspace", help="local, dev, staging or prod")
    parser.add_argument("--poll", type=float, default=None, help="seconds between status reads")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, flush=True)

    try:
        settings = settings_for(args.workspace, os.environ)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    try:
        return rollout(settings, log, poll_seconds=args.poll)
    except RolloutError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
