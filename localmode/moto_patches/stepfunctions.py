"""Step Functions: operations the AWS provider calls that moto lacks (written against moto 5.2.5).

Each is a response method of moto's style (``StepFunctionResponse.<operation>``), answered as AWS
answers a valid request: small enough to upstream as it is. Executions themselves run with moto's own
interpreter (``{"stepfunctions": {"execute_state_machine": True}}``, see :mod:`localmode.moto_patches.server`).
"""

from __future__ import annotations

import json

from moto.stepfunctions.responses import StepFunctionResponse

from localmode.moto_patches.patch import Patch, PatchSet


def validate_state_machine_definition(self: StepFunctionResponse) -> str:
    """ValidateStateMachineDefinition: the provider validates the ASL document before
    CreateStateMachine/UpdateStateMachine. moto executes the definition itself, so checking that it is
    a JSON object with a StartAt and States is the part worth answering here."""
    definition = self._get_param("definition")
    try:
        document = json.loads(definition)
        ok = isinstance(document, dict) and "StartAt" in document and "States" in document
    except (TypeError, ValueError):
        ok = False
    diagnostics = [] if ok else [{"severity": "ERROR", "code": "INVALID_JSON_DESCRIPTION",
                                  "message": "definition is not a state machine document"}]
    return json.dumps({"result": "OK" if ok else "FAIL", "diagnostics": diagnostics, "truncated": False})


def list_state_machine_versions(self: StepFunctionResponse) -> str:
    """ListStateMachineVersions: the provider reads the versions of every state machine it manages.
    Versions are only created by publishing, which this product never does, so the list is empty."""
    return json.dumps({"stateMachineVersions": []})


VALIDATE_DEFINITION = Patch(
    "stepfunctions.validate_state_machine_definition", StepFunctionResponse, "validate_state_machine_definition",
    "adds", None, "ValidateStateMachineDefinition, which the provider calls before it writes a state machine")
LIST_VERSIONS = Patch(
    "stepfunctions.list_state_machine_versions", StepFunctionResponse, "list_state_machine_versions", "adds", None,
    "ListStateMachineVersions, which the provider reads for every state machine (empty: nothing is published)")
PATCHES = (VALIDATE_DEFINITION, LIST_VERSIONS)


def install(patches: PatchSet) -> None:
    """Add the operations."""
    patches.apply(VALIDATE_DEFINITION, validate_state_machine_definition)
    patches.apply(LIST_VERSIONS, list_state_machine_versions)
