"""Deterministic artifacts: same sources -> same bytes; one handler edit -> one artifact."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from modules.catalog import FUNCTIONS, function
from modules.packaging import ROOT, build_function, build_layer, locked_runtime_requirements

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


def test_changing_one_handler_changes_only_its_artifact(tmp_path):
    before = build_all(tmp_path / "before")
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "handlers", tree / "handlers", ignore=shutil.ignore_patterns("__pycache__"))
    entry = tree / "handlers/workflow/validate.py"
    entry.write_text(entry.read_text() + "\n# a comment changes the bytes\n")
    after = build_all(tmp_path / "after", root=tree)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"validate"}


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
