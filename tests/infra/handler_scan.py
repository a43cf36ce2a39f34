"""Static scan of handlers/: which AWS actions each entry point's code can call.

For an entry module, follow its imports inside `handlers/` (ignoring `if TYPE_CHECKING:`
blocks), and for every AWS adapter module reached (one that declares `AWS_SERVICE`)
collect its `self._client.<operation>(` calls as IAM actions, plus any `IAM_ACTIONS` it
declares for calls a library makes on its behalf (Powertools idempotency).

Resources: an adapter is constructed with the settings field naming its resource
(`ItemsRepository(settings().table_name)`, `IdempotencyStore(settings().idempotency_table_name)`),
so each constructor call found in the import closure binds the actions of that adapter
class (its own calls, its module's `IAM_ACTIONS` and its base classes' calls) to the resource
of that field (`SETTING_RESOURCES`). Anything the scan cannot bind is reported, never guessed.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IAM_PREFIX = {"dynamodb": "dynamodb", "sns": "sns", "stepfunctions": "states", "sqs": "sqs", "s3": "s3",
              "lambda": "lambda", "codedeploy": "codedeploy"}
# API operations authorized by an IAM action of another name (AWS Lambda: Invoke needs
# lambda:InvokeFunction).
ACTION_OF_OPERATION = {"lambda:Invoke": "lambda:InvokeFunction"}


def _module_path(module: str) -> Path | None:
    base = ROOT / module.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.Module, module: str) -> set[str]:
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            for child in ("body", "orelse", "finalbody", "handlers"):
                visit([n for n in getattr(node, child, []) if isinstance(n, ast.stmt)])

    visit(tree.body)
    # A package's __init__ runs when any of its submodules is imported.
    parents = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
    return {name for name in found | parents if name.startswith("handlers")}


def import_closure(entry_module: str) -> set[str]:
    """Every handlers.* module that importing `entry_module` loads."""
    seen: set[str] = set()
    queue = [entry_module]
    while queue:
        module = queue.pop()
        path = _module_path(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        queue.extend(_imports(ast.parse(path.read_text()), module) - seen)
    return seen


_CALL = re.compile(r"self\._client\.([a-z_]+)\(")


def _camel(operation: str) -> str:
    return "".join(part.title() for part in operation.split("_"))


def _action(prefix: str, operation: str) -> str:
    action = f"{prefix}:{_camel(operation)}"
    return ACTION_OF_OPERATION.get(action, action)


def adapter_actions(module: str) -> set[str]:
    """IAM actions of one adapter module (empty if it is not an adapter)."""
    path = _module_path(module)
    assert path is not None
    tree = ast.parse(path.read_text())
    constants = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name)}
    if "AWS_SERVICE" not in constants:
        return set()
    service = ast.literal_eval(constants["AWS_SERVICE"])
    actions = {_action(IAM_PREFIX[service], op) for op in _CALL.findall(path.read_text())}
    if "IAM_ACTIONS" in constants:
        actions |= set(ast.literal_eval(constants["IAM_ACTIONS"]))
    return actions


def handler_actions(handler: str) -> set[str]:
    """AWS actions the code behind a handler string (`pkg.module.function`) can call."""
    entry_module = handler.rsplit(".", 1)[0]
    actions: set[str] = set()
    for module in import_closure(entry_module):
        actions |= adapter_actions(module)
    return actions


# Handler settings field passed to an adapter's constructor -> the resource it names.
SETTING_RESOURCES = {
    "table_name": "table",
    "idempotency_table_name": "idempotency_table",
    "events_topic_arn": "events_topic",
    "state_machine_arn": "state_machine",
    "deployment_application_name": "deployment_groups",
    "smoke_checks": "rolled_out_versions",
}


@dataclass(frozen=True)
class AdapterClass:
    module: str
    bases: tuple[str, ...]
    actions: frozenset[str]  # its own calls plus its module's IAM_ACTIONS


@dataclass
class HandlerGrants:
    """What one entry point needs: (action, resource) pairs, and what could not be bound."""

    grants: set[tuple[str, str]] = field(default_factory=set)
    unresolved: list[str] = field(default_factory=list)


def _adapter_classes(module: str) -> tuple[dict[str, AdapterClass], list[str]]:
    path = _module_path(module)
    assert path is not None
    source = path.read_text()
    tree = ast.parse(source)
    constants = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name)}
    if "AWS_SERVICE" not in constants:
        return {}, []
    prefix = IAM_PREFIX[ast.literal_eval(constants["AWS_SERVICE"])]
    declared = frozenset(ast.literal_eval(constants["IAM_ACTIONS"])) if "IAM_ACTIONS" in constants else frozenset()
    classes: dict[str, AdapterClass] = {}
    in_classes = 0
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            calls = _CALL.findall(ast.get_source_segment(source, node) or "")
            in_classes += len(calls)
            classes[node.name] = AdapterClass(
                module, tuple(b.id for b in node.bases if isinstance(b, ast.Name)),
                frozenset(_action(prefix, op) for op in calls) | declared)
    problems = []
    if in_classes != len(_CALL.findall(source)):
        problems.append(f"{module}: AWS calls outside a class cannot be bound to a resource")
    return classes, problems


def _constructions(module: str, classes: dict[str, AdapterClass]) -> list[tuple[str, str | None]]:
    """(adapter class, settings field of its first argument) for each constructor call."""
    path = _module_path(module)
    assert path is not None
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else (
            node.func.attr if isinstance(node.func, ast.Attribute) else None)
        if name not in classes:
            continue
        args = [*node.args, *(k.value for k in node.keywords)]
        setting = args[0].attr if args and isinstance(args[0], ast.Attribute) else None
        found.append((name, setting))
    return found


def _class_actions(name: str, classes: dict[str, AdapterClass]) -> tuple[set[str], set[str]]:
    """Actions of a class with its bases, and the names of the classes visited."""
    actions: set[str] = set()
    visited: set[str] = set()
    queue = [name]
    while queue:
        current = queue.pop()
        if current in visited or current not in classes:
            continue
        visited.add(current)
        actions |= classes[current].actions
        queue.extend(classes[current].bases)
    return actions, visited


def handler_grants(handler: str) -> HandlerGrants:
    """(action, resource) pairs the code behind a handler string needs, resource being one of
    `SETTING_RESOURCES`' values; `unresolved` lists every call the scan could not bind."""
    closure = sorted(import_closure(handler.rsplit(".", 1)[0]))
    result = HandlerGrants()
    classes: dict[str, AdapterClass] = {}
    for module in closure:
        found, problems = _adapter_classes(module)
        result.unresolved += problems
        for name, adapter in found.items():
            assert name not in classes, f"two adapter classes named {name}"
            classes[name] = adapter
    bound: set[str] = set()
    for module in closure:
        for name, setting in _constructions(module, classes):
            actions, visited = _class_actions(name, classes)
            bound |= visited
            if not actions:  # a value or exception class of an adapter module: calls nothing
                continue
            resource = SETTING_RESOURCES.get(setting or "")
            if resource is None:
                result.unresolved.append(f"{module}: {name}({setting or '?'}) names no known resource")
                continue
            result.grants |= {(action, resource) for action in actions}
    for name in sorted(set(classes) - bound):
        if classes[name].actions:
            result.unresolved.append(f"{classes[name].module}: {name} is imported but never constructed")
    return result
