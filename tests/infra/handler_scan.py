"""Static scan of handlers/: which AWS actions each entry point's code can call.

For an entry module, follow its imports inside `handlers/` (ignoring `if TYPE_CHECKING:`
blocks), and for every AWS adapter module reached (one that declares `AWS_SERVICE`)
collect its `self._client.<operation>(` calls as IAM actions, plus any `IAM_ACTIONS` it
declares for calls a library makes on its behalf (Powertools idempotency).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IAM_PREFIX = {"dynamodb": "dynamodb", "sns": "sns", "stepfunctions": "states", "sqs": "sqs", "s3": "s3"}


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
    actions = {f"{IAM_PREFIX[service]}:{_camel(op)}" for op in _CALL.findall(path.read_text())}
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
