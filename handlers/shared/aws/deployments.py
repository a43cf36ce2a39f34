"""CodeDeploy's side of a lifecycle hook: read the deployment's AppSpec, report the result.

Operations: GetDeployment, PutLifecycleEventHookExecutionStatus. Both act on the deployment
group the deployment belongs to; the adapter refuses deployments of any application but its
own, so a hook of one workspace never approves another's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from handlers.shared.aws import clients
from handlers.shared.aws.errors import aws_call

AWS_SERVICE = "codedeploy"


class ForeignDeployment(Exception):
    """The deployment belongs to another CodeDeploy application than the hook's."""


@dataclass(frozen=True)
class LambdaTarget:
    """One function of an AppSpec: its alias moves from `current_version` to `target_version`."""

    name: str
    alias: str
    current_version: str
    target_version: str


class Deployments:
    """The deployments of one CodeDeploy application."""

    def __init__(self, application_name: str) -> None:
        self._application_name = application_name

    @property
    def _client(self) -> Any:
        return clients.get("codedeploy")

    def targets(self, deployment_id: str) -> list[LambdaTarget]:
        """The functions and versions a deployment moves (its AppSpec's Resources)."""
        with aws_call("codedeploy.GetDeployment"):
            info = self._client.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        if info.get("applicationName") != self._application_name:
            raise ForeignDeployment(f"deployment {deployment_id} belongs to {info.get('applicationName')!r}, "
                                    f"not to {self._application_name!r}")
        appspec = json.loads(info["revision"]["appSpecContent"]["content"])
        targets = []
        for resource in appspec.get("Resources", []):
            for properties in (entry.get("Properties", {}) for entry in resource.values()):
                targets.append(LambdaTarget(str(properties["Name"]), str(properties["Alias"]),
                                            str(properties["CurrentVersion"]), str(properties["TargetVersion"])))
        return targets

    def report(self, deployment_id: str, hook_execution_id: str, status: Literal["Succeeded", "Failed"]) -> None:
        """Tell CodeDeploy the hook's verdict: Succeeded lets traffic move, Failed rolls back."""
        with aws_call("codedeploy.PutLifecycleEventHookExecutionStatus"):
            self._client.put_lifecycle_event_hook_execution_status(
                deploymentId=deployment_id, lifecycleEventHookExecutionId=hook_execution_id, status=status)
