"""Deterministic artifacts: same sources -> same bytes; one handler edit -> one artifact."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest

from modules import packaging
from modules.catalog import FUNCTIONS, function
from modules.packaging import ROOT, build_function, build_layer, function_sources, locked_runtime_requirements

MAX_FUNCTION_ZIP = 64 * 1024


def build_all(build_dir: Path, root: Path = ROOT) -> dict[str, bytes]:
    return {spec.name: build_function(spec, build_dir, root).path.read_bytes() for spec in FUNCTIONS}


def test_two_builds_give_identical_zips(tmp_path):
    assert build_all(tmp_path / "a") == build_all(tmp_path / "b")


def test_zip_holds_only_its_package_and_shared_with_fixed_metadata(tmp_path):
    artifact = build_function(function("validate"), tmp_path)
    with zipfile.ZipFile(artifact.path) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert "handlers/workflow/validate.py" in names
    assert "handlers/shared/__init__.py" in names
    # Sibling entry points and other packages stay out.
    assert not any(n.startswith(("handlers/api/", "handlers/stream/", "handlers/scheduled/")) for n in names)
    assert "handlers/workflow/process.py" not in names
    assert not any("__pycache__" in n or n.endswith(".pyc") or "/tests/" in n for n in names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}
    assert artifact.key == f"artifacts/validate/{artifact.sha256_hex}.zip"


@pytest.mark.parametrize("spec", FUNCTIONS, ids=[s.name for s in FUNCTIONS])
def test_function_zip_is_small(tmp_path, spec):
    assert build_function(spec, tmp_path).size <= MAX_FUNCTION_ZIP


def copy_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "handlers", tree / "handlers", ignore=shutil.ignore_patterns("__pycache__"))
    return tree


def identities(build_dir: Path, root: Path = ROOT) -> dict[str, tuple[str, str, bytes]]:
    """What Terraform sees of each function: S3 key, source_code_hash, and the bytes."""
    artifacts = {spec.name: build_function(spec, build_dir, root) for spec in FUNCTIONS}
    return {name: (a.key, a.sha256_b64, a.path.read_bytes()) for name, a in artifacts.items()}


def identities_after_edit(tmp_path: Path, relative: str) -> tuple[dict, dict]:
    """Artifact identities of the real tree and of a copy in which `relative` is edited."""
    before = identities(tmp_path / "before")
    tree = copy_tree(tmp_path)
    edited = tree / relative
    edited.write_text(edited.read_text() + "\n# a comment changes the bytes\n")
    return before, identities(tmp_path / "after", root=tree)


def test_changing_one_handler_changes_only_its_artifact_key_and_hash(tmp_path):
    before, after = identities_after_edit(tmp_path, "handlers/workflow/validate.py")
    assert set(before) == set(after) == {spec.name for spec in FUNCTIONS}
    for name in before:
        key_before, hash_before, bytes_before = before[name]
        key_after, hash_after, bytes_after = after[name]
        if name == "validate":
            assert bytes_after != bytes_before
            assert key_after.startswith("artifacts/validate/") and key_after != key_before
            assert hash_after != hash_before
        else:
            assert (key_after, hash_after, bytes_after) == (key_before, hash_before, bytes_before), name


def test_changing_a_shared_module_of_a_package_changes_its_functions_only(tmp_path):
    before, after = identities_after_edit(tmp_path, "handlers/workflow/logic.py")
    changed = {name for name in before if before[name][:2] != after[name][:2]}
    assert changed == {spec.name for spec in FUNCTIONS if spec.package == "workflow"}


STRAY_FILES = [
    "handlers/.DS_Store", "handlers/shared/.DS_Store", "handlers/workflow/.validate.py.swp",
    "handlers/workflow/validate.py.swp", "handlers/api/notes.txt", "handlers/shared/notes.md",
    "handlers/.hypothesis/examples/abc.py", "handlers/shared/.hypothesis/constants/x",
    "handlers/conftest.py", "handlers/workflow/conftest.py", "handlers/shared/test_settings.py",
    "handlers/workflow/test_validate.py", "handlers/api/logic/items_test.py", "handlers/api/tests/test_app.py",
    "handlers/shared/aws/tests/helpers.py", "handlers/stream/.idea/workspace.py", "handlers/scheduled/digest.pyc",
    "handlers/shared/__pycache__/models.cpython-311.pyc", "handlers/api/.pytest_cache/v/cache/lastfailed",
]


def test_stray_files_never_reach_a_zip(tmp_path):
    clean = identities(tmp_path / "clean")
    tree = copy_tree(tmp_path)
    for stray in STRAY_FILES:
        (tree / stray).parent.mkdir(parents=True, exist_ok=True)
        (tree / stray).write_bytes(b"import os  # stray\n")
    polluted = identities(tmp_path / "polluted", root=tree)
    assert polluted == clean  # byte-identical: nothing of the stray files got in
    for spec in FUNCTIONS:
        names = set(function_sources(spec, tree))
        assert all(n.endswith(".py") for n in names), spec.name
        assert not names & set(STRAY_FILES), spec.name


def test_allow_list_keeps_every_handler_source(tmp_path):
    # Every Python source of the package and of shared is shipped (except sibling entry points).
    for spec in FUNCTIONS:
        names = set(function_sources(spec))
        for folder in ("shared", spec.package):
            for path in (ROOT / "handlers" / folder).rglob("*.py"):
                arcname = path.relative_to(ROOT).as_posix()
                sibling = any(arcname == other.entry_module for other in FUNCTIONS
                              if other.package == spec.package and other.name != spec.name)
                assert (arcname in names) is not sibling, arcname


def test_layer_is_built_from_the_locked_runtime_category(tmp_path):
    requirements = locked_runtime_requirements()
    assert "aws-lambda-powertools==" in requirements and "pydantic==" in requirements
    assert "--hash=sha256:" in requirements
    assert "botocore" not in requirements  # provided by the Lambda runtime
    first = build_layer("arm64", "python3.13", tmp_path / "a")
    second = build_layer("arm64", "python3.13", tmp_path / "b")
    assert first.path.read_bytes() == second.path.read_bytes()
    with zipfile.ZipFile(first.path) as archive:
        names = archive.namelist()
    assert any(n.startswith("python/aws_lambda_powertools/") for n in names)
    # Compiled extension for the Lambda platform, not this machine's.
    assert any(n.startswith("python/pydantic_core/") and "aarch64" in n and n.endswith(".so") for n in names)
    assert not any("__pycache__" in n for n in names)


def test_the_packaging_step_builds_every_artifact_and_reports_the_layer_build(tmp_path, monkeypatch, capsys):
    # Given an empty build directory (pip itself replaced: this test is about the step, not pip)
    built: list[str] = []

    def fake_pip(requirements: str, architecture: str, python_version: str, compiler: object) -> bytes:
        built.append(architecture)
        return b"layer"

    monkeypatch.setattr(packaging, "_pip_layer_zip", fake_pip)
    # When the synth's packaging step runs twice
    first = packaging.package_workspace("arm64", "python3.13", build_dir=tmp_path)
    report = capsys.readouterr().out
    second = packaging.package_workspace("arm64", "python3.13", build_dir=tmp_path)
    # Then every function has its zip, the layer was built once with a progress line, and the
    # second run reused it silently
    assert set(first.functions) == {spec.name for spec in FUNCTIONS}
    assert built == ["arm64"] and first == second
    assert "packaging: dependencies layer for python3.13 on arm64" in report
    assert "packaging: dependencies layer built in" in report
    assert capsys.readouterr().out == ""


# What exists only to run or test the product locally: never in a function zip.
FORBIDDEN_PATH_PARTS = frozenset({"localmode", "tests", "delivery", "devtools", "modules", "bench", "conftest.py"})
FORBIDDEN_CODE = re.compile(r"127\.0\.0\.1|localhost:\d|:4566\b|EMULATOR_(ENDPOINT|ACCESS_KEY|SECRET)|LOCAL_API_PORT"
                            r"|^\s*(from|import)\s+(moto|localmode|tests|delivery|devtools|modules)\b", re.M)


def harness_content(files: dict[str, bytes]) -> list[str]:
    """`path: what` for each file of a zip that exists only for local mode or tests."""
    found = [f"{path}: harness path" for path in files if FORBIDDEN_PATH_PARTS & set(path.split("/"))]
    for path, content in files.items():
        if path.endswith(".py"):
            found += [f"{path}: {match.group(0).strip()}" for match in FORBIDDEN_CODE.finditer(content.decode())]
    return found


def test_no_function_zip_carries_local_mode_or_test_code(tmp_path):
    for spec in FUNCTIONS:
        with zipfile.ZipFile(build_function(spec, tmp_path).path) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
        assert harness_content(files) == [], spec.name


def test_harness_content_is_named():
    files = {"handlers/shared/constants.py": b'DEFAULT_EMULATOR_ENDPOINT = "http://127.0.0.1:4566"\n',
             "handlers/api/app.py": b"from localmode.startup import DEFAULT_LOCAL_API_PORT\n",
             "tests/conftest.py": b""}
    assert harness_content(files) == [
        "tests/conftest.py: harness path",
        "handlers/shared/constants.py: EMULATOR_ENDPOINT",
        "handlers/shared/constants.py: 127.0.0.1",
        "handlers/shared/constants.py: :4566",
        "handlers/api/app.py: from localmode",
        "handlers/api/app.py: LOCAL_API_PORT",
    ]
