"""Bytecode in the artifacts: with an interpreter of the runtime's version every module
ships its unchecked-hash .pyc, builds stay byte-identical, and importing from the extracted
zip compiles nothing; without one the zips hold sources only and the build says why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from modules.bytecode import BytecodeCompiler, bytecode_compiler
from modules.catalog import FUNCTIONS, function
from modules.config_errors import ConfigError
from modules.packaging import build_function, build_layer

# This machine's interpreter stands in for the functions' runtime: a configuration with
# lambda_runtime python3.<this minor> compiles with it.
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"
TAG = sys.implementation.cache_tag
ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "bytecode", "POWERTOOLS_METRICS_NAMESPACE": "Bytecode", "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1", "TABLE_NAME": "t", "EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t",
    "IDEMPOTENCY_TABLE_NAME": "i", "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:1:stateMachine:s",
}


@pytest.fixture(scope="module")
def compiler() -> BytecodeCompiler:
    found = bytecode_compiler(RUNTIME, sys.executable)
    assert found is not None
    return found


def pyc_name(source: str) -> str:
    folder, _, name = source.rpartition("/")
    return f"{folder}/__pycache__/{name.removesuffix('.py')}.{TAG}.pyc"


def test_every_module_of_every_function_zip_has_unchecked_hash_bytecode(tmp_path, compiler):
    for spec in FUNCTIONS:
        with zipfile.ZipFile(build_function(spec, tmp_path, compiler=compiler).path) as archive:
            names = set(archive.namelist())
            sources = {n for n in names if n.endswith(".py")}
            assert {pyc_name(s) for s in sources} == {n for n in names if n.endswith(".pyc")}, spec.name
            header = archive.read(pyc_name(spec.entry_module))
        # PEP 552 flags word: bit 0 hash-based, bit 1 check_source; 0b01 is unchecked-hash.
        assert int.from_bytes(header[4:8], "little") == 0b01


def test_two_builds_with_bytecode_are_byte_identical(tmp_path, compiler):
    for spec in (function("api"), function("digest")):
        first = build_function(spec, tmp_path / "a", compiler=compiler)
        second = build_function(spec, tmp_path / "b", compiler=compiler)
        assert first.path.read_bytes() == second.path.read_bytes()
        assert first.key == second.key and first.key != build_function(spec, tmp_path / "c").key


def compiled_on_import(extracted: Path, module: str) -> list[str]:
    """Modules below `extracted` that Python compiled from source while importing `module`
    (in a fresh interpreter without bytecode writing, like Lambda's read-only task root)."""
    script = f"""
import importlib.machinery, json, sys
compiled = []
original = importlib.machinery.SourceFileLoader.source_to_code
def spy(self, data, path, *args, **kwargs):
    if str(path).startswith({str(extracted)!r}):
        compiled.append(str(path))
    return original(self, data, path, *args, **kwargs)
importlib.machinery.SourceFileLoader.source_to_code = spy
sys.path.insert(0, {str(extracted)!r})
__import__({module!r})
print(json.dumps(compiled))
"""
    env = {**os.environ, **ENVIRONMENT, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True,
                            timeout=120)
    return list(json.loads(result.stdout.strip().splitlines()[-1]))


def test_importing_from_the_extracted_zip_compiles_nothing(tmp_path, compiler):
    spec = function("validate")
    with_bytecode, sources_only = tmp_path / "with", tmp_path / "without"
    zipfile.ZipFile(build_function(spec, tmp_path / "a", compiler=compiler).path).extractall(with_bytecode)
    zipfile.ZipFile(build_function(spec, tmp_path / "b").path).extractall(sources_only)
    module = spec.handler.rsplit(".", 1)[0]
    assert compiled_on_import(with_bytecode, module) == []
    # The check sees compilation where there is no bytecode (so it can fail).
    assert f"{sources_only}/{spec.entry_module}" in compiled_on_import(sources_only, module)


def test_without_an_interpreter_the_zip_holds_sources_and_the_build_says_why(tmp_path, capsys):
    bytecode_compiler.cache_clear()
    assert bytecode_compiler("python3.99") is None
    assert bytecode_compiler("python3.99") is None  # said once
    note = capsys.readouterr().err
    assert note.count("no python3.99 interpreter found") == 1
    assert "LAMBDA_BUILD_PYTHON" in note and "install python3.99" in note
    with zipfile.ZipFile(build_function(function("validate"), tmp_path).path) as archive:
        assert not any(n.endswith(".pyc") or "__pycache__" in n for n in archive.namelist())


def test_a_configured_interpreter_of_another_version_is_refused():
    version = rf"{sys.version_info.major}\.{sys.version_info.minor}"
    with pytest.raises(ConfigError, match=rf"LAMBDA_BUILD_PYTHON \('{sys.executable}'\) is Python {version}; "
                                          r"allowed: .*python3\.99"):
        bytecode_compiler("python3.99", sys.executable)
    with pytest.raises(ConfigError, match=r"LAMBDA_BUILD_PYTHON \('/nowhere/python'\) does not run"):
        bytecode_compiler("python3.99", "/nowhere/python")


@pytest.mark.slow
def test_every_module_of_the_layer_has_bytecode(tmp_path, compiler):
    layer = build_layer("x86_64", RUNTIME, tmp_path, compiler=compiler)
    with zipfile.ZipFile(layer.path) as archive:
        names = set(archive.namelist())
    sources = {n for n in names if n.endswith(".py")}
    assert len(sources) > 300
    assert {pyc_name(s) for s in sources} == {n for n in names if n.endswith(".pyc")}
    assert build_layer("x86_64", RUNTIME, tmp_path / "again", compiler=compiler).sha256_hex == layer.sha256_hex
