"""Local mode's patches of moto: every one registered, checked against the installed moto, and contained.

A moto upgrade that changes a patched internal fails here with the patch's name and the moto symbol
(and stops the emulator at start with the same message, :meth:`PatchSet.apply`)."""

from __future__ import annotations

import ast
import dataclasses
import importlib.metadata
from pathlib import Path

import boto3
import pytest

from localmode.moto_patches.patch import MOTO_VERSION, MotoChanged, Patch, PatchSet
from localmode.moto_patches.registry import REGISTRY, markdown_table
from tests.localmode.conftest import REGION, REPO_ROOT


def test_every_patch_matches_the_installed_moto() -> None:
    problems = [problem for patch in REGISTRY.values() for problem in patch.problems()]

    assert problems == []
    assert importlib.metadata.version("moto") == MOTO_VERSION, (
        f"moto {importlib.metadata.version('moto')} is installed, the patches were written against {MOTO_VERSION}: "
        "check each patch of docs/local-mode.md against it, then update MOTO_VERSION")


class Original:
    """A stand-in for a moto class, in the shape a patch was written against."""

    def invoke(self, body: str, headers: dict[str, str]) -> bytes:
        return b"moto"


class Upgraded:
    """The same class after an upgrade: ``invoke`` renamed, ``describe`` added."""

    def invoke_function(self, body: str, headers: dict[str, str]) -> bytes:
        return b"moto"

    def invoke_changed(self, body: str, headers: dict[str, str], context: object) -> bytes:
        return b"moto"

    def describe(self) -> str:
        return "moto"


SIGNATURE = "(self, body: 'str', headers: 'dict[str, str]') -> 'bytes'"


def test_a_patch_of_a_method_moto_no_longer_has_fails_naming_the_patch_and_symbol() -> None:
    patch = Patch("lambda.invoke_in_process", Upgraded, "invoke", "replaces", SIGNATURE, "why")

    [problem] = patch.problems()

    assert "'lambda.invoke_in_process'" in problem
    assert f"{__name__}.Upgraded.invoke" in problem and "has no invoke any more" in problem
    with pytest.raises(MotoChanged, match=r"lambda\.invoke_in_process.*Upgraded\.invoke"):
        PatchSet().apply(patch, lambda self, body, headers: b"patched")
    assert not hasattr(Upgraded, "invoke")


def test_a_changed_signature_fails_with_both_signatures() -> None:
    recorded = Patch("lambda.invoke_in_process", Upgraded, "invoke_changed", "wraps", SIGNATURE, "why")

    [problem] = recorded.problems()

    assert f"{__name__}.Upgraded.invoke_changed" in problem
    assert "context: 'object'" in problem and f"expects {SIGNATURE}" in problem
    assert Patch("x", Original, "invoke", "wraps", SIGNATURE, "why").problems() == []
    assert Patch("x", Original, "invoke", "wraps", "(self, body)", "why").problems() != []


def test_a_registered_patch_recorded_with_another_signature_names_itself_and_moto() -> None:
    # As if moto's LambdaFunction.invoke had changed since the patch was written.
    patch = dataclasses.replace(REGISTRY["lambda.invoke_in_process"], signature="(self, body: 'str') -> 'bytes'")

    [problem] = patch.problems()

    assert problem.startswith("moto patch 'lambda.invoke_in_process' (moto.awslambda.models.LambdaFunction.invoke, "
                              f"written against moto {MOTO_VERSION}): the signature is (self, body: 'str', ")


def test_an_operation_moto_now_has_is_reported_instead_of_hidden() -> None:
    added = Patch("codedeploy.describe", Upgraded, "describe", "adds", None, "why")

    [problem] = added.problems()

    assert "'codedeploy.describe'" in problem and "moto now has describe" in problem
    assert Patch("codedeploy.describe", Original, "describe", "adds", None, "why").problems() == []


def test_a_patch_set_applies_and_undoes_in_place() -> None:
    patches = PatchSet()
    wrapped = Patch("wrap", Original, "invoke", "wraps", SIGNATURE, "why")
    added = Patch("add", Original, "describe", "adds", None, "why")
    original = patches.apply(wrapped, lambda self, body, headers: b"patched " + original(self, body, headers))
    patches.apply(added, lambda self: "added")

    assert (Original().invoke("", {}), Original().describe()) == (b"patched moto", "added")  # type: ignore[attr-defined]
    assert wrapped.problems() == [] and added.problems() == []  # checked against moto's own, not the patch
    patches.undo()
    assert Original().invoke("", {}) == b"moto" and not hasattr(Original, "describe")


# --- containment: nothing outside localmode/moto_patches/ changes moto ---------------------------------------


def moto_names(tree: ast.Module) -> set[str]:
    """The names a module binds to something imported from moto."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
            names.update(alias.asname or alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names
                         if alias.name.split(".")[0] == "moto")
    return names


def moto_changes(source: str) -> list[str]:
    """Assignments to an attribute of a moto name (``LambdaFunction.invoke = ...``) and ``setattr``/``delattr``
    on one, as ``line: code``."""
    tree = ast.parse(source)
    names = moto_names(tree)
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AugAssign | ast.AnnAssign) else []
        changed = [target.value for target in targets if isinstance(target, ast.Attribute)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr"):
            changed += node.args[:1]
        found += [f"{getattr(node, 'lineno', 0)}: {ast.unparse(node)}" for value in changed
                  if isinstance(value, ast.Name) and value.id in names]
    return found


def test_only_moto_patches_change_moto() -> None:
    outside = [path for path in sorted((REPO_ROOT / "localmode").rglob("*.py")) if "moto_patches" not in path.parts]
    changes = {str(path.relative_to(REPO_ROOT)): moto_changes(path.read_text()) for path in outside}

    assert len(outside) > 10
    assert {path: found for path, found in changes.items() if found} == {}


def test_a_patch_outside_moto_patches_is_found() -> None:
    source = ("from moto.awslambda.models import LambdaFunction\nimport moto.codedeploy.responses as responses\n"
              "LambdaFunction.invoke = run\nsetattr(responses, '_deployment_info', describe)\n"
              "config.invoke = run\n")

    assert moto_changes(source) == ["3: LambdaFunction.invoke = run",
                                    "4: setattr(responses, '_deployment_info', describe)"]


def test_the_docs_list_every_patch() -> None:
    assert markdown_table() in (REPO_ROOT / "docs" / "local-mode.md").read_text()


def test_the_registry_names_each_patch_once() -> None:
    assert len({(patch.symbol, patch.kind) for patch in REGISTRY.values()}) == len(REGISTRY) > 20


def test_an_internal_read_that_moto_no_longer_has_fails_naming_it() -> None:
    present = Patch("snapshot.backends_in_use", Original, "invoke", "reads", None, "why")
    gone = Patch("snapshot.backends_in_use", Upgraded, "invoke", "reads", None, "why")

    assert present.problems() == []
    [problem] = gone.problems()
    assert "'snapshot.backends_in_use'" in problem and "has no invoke any more" in problem
    with pytest.raises(ValueError, match="nothing to apply"):
        PatchSet().apply(present, lambda self: None)


def test_the_running_emulator_lists_motos_service_modules_once(emulator) -> None:
    import moto
    from moto import backends

    listed = backends.list_of_moto_modules()
    # What moto lists (its package's folders), read once: the same object on every call.
    folders = [path.name for path in sorted(Path(moto.__file__).parent.iterdir())
               if path.is_dir() and not path.name.startswith("__")]
    assert list(listed) == folders and {"dynamodb", "awslambda", "s3", "codedeploy"} <= set(folders)
    assert backends.list_of_moto_modules() is listed
    tables = boto3.client("dynamodb", endpoint_url=emulator.endpoint, region_name=REGION,
                          aws_access_key_id="test", aws_secret_access_key="test").list_tables()
    assert "TableNames" in tables  # a request still finds its service
