"""Operations the AWS provider calls that moto does not implement yet, answered the way AWS
answers them for a valid request. Each is small, named, and undone on stop."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import EventSourceMapping, LambdaFunction, LambdaStorage
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


def _list_state_machine_versions(self: StepFunctionResponse) -> str:
    # The provider reads the versions of every state machine it manages. Versions are only
    # created by publishing, which this product never does, so the list is empty.
    return json.dumps({"stateMachineVersions": []})


_EXTENSIONS: dict[tuple[type, str], Callable[..., Any]] = {
    (StepFunctionResponse, "validate_state_machine_definition"): _validate_state_machine_definition,
    (StepFunctionResponse, "list_state_machine_versions"): _list_state_machine_versions,
}


# Function settings moto accepts but does not return from GetFunction; without them every
# `terraform plan` after apply wants to add them again.
KEPT_FUNCTION_SETTINGS = ("DeadLetterConfig", "LoggingConfig")


def _keep_function_settings() -> Callable[[], None]:
    original_init = LambdaFunction.__init__
    original_update = LambdaFunction.update_configuration
    original_get = LambdaFunction.get_configuration

    def init(self: LambdaFunction, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        spec = kwargs.get("spec", args[1] if len(args) > 1 else {})
        self._kept_settings = {k: spec[k] for k in KEPT_FUNCTION_SETTINGS if k in spec}  # type: ignore[attr-defined]

    def update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> Any:
        kept = getattr(self, "_kept_settings", {})
        kept.update({k: config_updates[k] for k in KEPT_FUNCTION_SETTINGS if k in config_updates})
        self._kept_settings = kept  # type: ignore[attr-defined]
        return original_update(self, config_updates)

    def get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {**original_get(self, *args, **kwargs), **getattr(self, "_kept_settings", {})}

    LambdaFunction.__init__ = init  # type: ignore[method-assign]
    LambdaFunction.update_configuration = update_configuration  # type: ignore[method-assign]
    LambdaFunction.get_configuration = get_configuration  # type: ignore[method-assign]

    def undo() -> None:
        LambdaFunction.__init__ = original_init  # type: ignore[method-assign]
        LambdaFunction.update_configuration = original_update  # type: ignore[method-assign]
        LambdaFunction.get_configuration = original_get  # type: ignore[method-assign]

    return undo


def _mapping_reports_the_alias() -> Callable[[], None]:
    # AWS reports a mapping's FunctionArn as the qualified ARN it was created with (the
    # `live` alias); moto reports the version behind it, which `terraform plan` sees as drift.
    original_get = EventSourceMapping.get_configuration

    def get_configuration(self: EventSourceMapping) -> dict[str, Any]:
        config = original_get(self)
        requested = str(self.function_name)
        if requested.startswith("arn:") and requested.count(":") == 7:
            config["FunctionArn"] = requested
        return config

    EventSourceMapping.get_configuration = get_configuration  # type: ignore[method-assign]

    def undo() -> None:
        EventSourceMapping.get_configuration = original_get  # type: ignore[method-assign]

    return undo


def _versions_never_reused() -> Callable[[], None]:
    # AWS numbers a function's versions upwards and never reuses a number, deleted versions
    # included; moto numbers a new version len(versions) + 1, so once `make rollout` deletes
    # old versions (devtools/rollout.py, prune) it would publish a number again.
    original_publish = LambdaStorage.publish_version

    def publish_version(self: LambdaStorage, name_or_arn: str, description: str = "") -> LambdaFunction | None:
        name = self.get_function_by_name_or_arn_forbid_qualifier(name_or_arn).function_name
        versions = self._functions.get(name, {}).get("versions", [])
        before = {id(v) for v in versions}
        highest = self.__dict__.setdefault("_highest_versions", {})
        floor = max([highest.get(name, 0), *(int(v.version) for v in versions)])
        published = original_publish(self, name_or_arn, description)
        if published is not None and id(published) not in before and int(published.version) <= floor:
            self._arns.pop(published.function_arn, None)
            published.set_version(floor + 1)
            self._arns[published.function_arn] = published
        if published is not None:
            highest[name] = max(floor, int(published.version))
        return published

    LambdaStorage.publish_version = publish_version  # type: ignore[method-assign]

    def undo() -> None:
        LambdaStorage.publish_version = original_publish  # type: ignore[method-assign]

    return undo


def install() -> Callable[[], None]:
    """Add the missing operations and kept settings; return the undo function."""
    undo_function_settings = _keep_function_settings()
    undo_mapping = _mapping_reports_the_alias()
    undo_versions = _versions_never_reused()
    added = []
    for (cls, name), function in _EXTENSIONS.items():
        if not hasattr(cls, name):
            setattr(cls, name, function)
            added.append((cls, name))

    def undo() -> None:
        undo_versions()
        undo_mapping()
        undo_function_settings()
        for cls, name in added:
            delattr(cls, name)

    return undo
