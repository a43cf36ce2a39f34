"""Operations the AWS provider calls that moto does not implement yet, answered the way AWS
answers them for a valid request. Each is small, named, and undone on stop."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.stepfunctions.responses import StepFunctionResponse


def _validate_state_machine_definition(self: StepFunctionResponse) -> str:
    # The provider validates the ASL document before CreateStateMachine/UpdateStateMachine.
    # moto executes the definition itself, so checking that it is a JSON object with a
    # StartAt and States is the part worth answering here.
    definition = self._get_param("definition")
    try:
        document = json.loads(definition)
        ok = isinstance(document, dict) and "StartAt" in document and "States" in document
    except (TypeError, ValueError):
        ok = False
    diagnostics = [] if ok else [{"severity": "ERROR", "code": "INVALID_JSON_DESCRIPTION",
                                  "message": "definition is not a state machine document"}]
    return json.dumps({"result": "OK" if ok else "FAIL", "diagnostics": diagnostics, "truncated": False})


_EXTENSIONS: dict[tuple[type, str], Callable[..., Any]] = {
    (StepFunctionResponse, "validate_state_machine_definition"): _validate_state_machine_definition,
}


def install() -> Callable[[], None]:
    """Add the missing operations; return the undo function."""
    added = []
    for (cls, name), function in _EXTENSIONS.items():
        if not hasattr(cls, name):
            setattr(cls, name, function)
            added.append((cls, name))

    def undo() -> None:
        for cls, name in added:
            delattr(cls, name)

    return undo
