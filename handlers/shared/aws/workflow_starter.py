"""Step Functions starter for the job workflow (state machine in ``STATE_MACHINE_ARN``).

Operation: StartExecution. The execution name is the job id: Step Functions treats a repeated
StartExecution with the same name and input as the same execution, so botocore's retries cannot
start a job twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from handlers.shared.aws import clients
from handlers.shared.aws.errors import aws_call

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

AWS_SERVICE = "stepfunctions"


class WorkflowStarter:
    """Starts executions of one state machine."""

    def __init__(self, state_machine_arn: str) -> None:
        self._state_machine_arn = state_machine_arn

    @property
    def _client(self) -> SFNClient:
        # Looked up on every call: the factory owns the one client per container (and tests reset it).
        return clients.get("stepfunctions")

    def start(self, name: str, state_input: Mapping[str, Any]) -> str:
        """Start an execution called ``name`` with ``state_input``; return its ARN."""
        with aws_call("stepfunctions.StartExecution"):
            response = self._client.start_execution(
                stateMachineArn=self._state_machine_arn,
                name=name,
                input=json.dumps(dict(state_input), separators=(",", ":")),
            )
        return response["executionArn"]
