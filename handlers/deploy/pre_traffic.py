"""Entry point of CodeDeploy's BeforeAllowTraffic hook: ``handlers.deploy.pre_traffic.lambda_handler``.

CodeDeploy invokes it with ``{"DeploymentId", "LifecycleEventHookExecutionId"}`` before any
traffic moves to a new version (AWS CodeDeploy user guide, "AppSpec 'hooks' section for an AWS
Lambda deployment"). It reads the deployment's AppSpec, invokes each target version with that
function's smoke check (SMOKE_CHECKS), and reports Succeeded or Failed with
PutLifecycleEventHookExecutionStatus; Failed makes CodeDeploy roll back before traffic moves.
The verdict is reported whatever happens in the checks; only when the report itself fails does
the function fail, and CodeDeploy then fails the hook when it hears nothing.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from handlers.deploy.logic import check_targets, verdict
from handlers.shared.aws.deployments import Deployments
from handlers.shared.aws.function_versions import FunctionVersions
from handlers.shared.observability import logger, metrics, tracer
from handlers.shared.settings import PreTrafficHookEnvironment, load_settings

settings = load_settings(PreTrafficHookEnvironment)
deployments = Deployments(settings.deployment_application_name)
versions = FunctionVersions(settings.smoke_checks)


class HookEvent(BaseModel):
    """What CodeDeploy sends a lifecycle hook."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    deployment_id: str = Field(alias="DeploymentId", min_length=1)
    hook_execution_id: str = Field(alias="LifecycleEventHookExecutionId", min_length=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Check the deployment's target versions and report the verdict to CodeDeploy."""
    hook = HookEvent.model_validate(event)
    logger.append_keys(deployment_id=hook.deployment_id)
    results = []
    try:
        targets = deployments.targets(hook.deployment_id)
        # The target sees it is being checked (context.client_context.custom), and the local
        # emulator runs this nested invocation while the hook waits for it.
        client_context = {"DeploymentId": hook.deployment_id, "LifecycleEventHookExecutionId": hook.hook_execution_id}
        results = check_targets(targets, settings.smoke_checks, versions, client_context)
    except Exception:
        logger.exception("could not read the deployment's targets")
    status = verdict(results)
    for result in results:
        (logger.info if result.passed else logger.error)("smoke check", extra=result.as_dict())
    deployments.report(hook.deployment_id, hook.hook_execution_id, status)
    metrics.add_metric(name="PreTrafficChecksPassed" if status == "Succeeded" else "PreTrafficChecksFailed",
                       unit="Count", value=1)
    return {"status": status, "checks": [result.as_dict() for result in results]}
