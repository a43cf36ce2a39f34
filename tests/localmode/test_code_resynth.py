"""`python main.py` after a change to function code only (`delivery.code_resynth`): the new
zips put into the last synth equal a full synth of the same sources, byte for byte; anything
the stacks read (a module, a handler file the synth imports) still means a full synth.

Runs on a copy of the checkout, so editing its handlers disturbs no other test; the copy
shares the build folder (its dependencies layer cache)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from delivery import code_resynth, synth_cache
from main import CACHE_VARIABLES

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
COPIED = ("main.py", "cdktf.json", "Pipfile.lock", "package-lock.json", "modules", "handlers", "config", "delivery")
RECORDS = {synth_cache.DIGEST_FILE, code_resynth.RECORD_FILE}  # name their output folder: differ by design
WORKSPACES = "local,dev"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("checkout")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    (ROOT / "build").mkdir(exist_ok=True)
    (root / "build").symlink_to(ROOT / "build")
    return root


def environment(outdir: Path) -> dict[str, str]:
    return {**os.environ, "WORKSPACES": WORKSPACES, "CDKTF_OUTDIR": str(outdir),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def synth(root: Path, outdir: Path, *flags: str) -> str:
    proc = subprocess.run([sys.executable, "main.py", *flags], cwd=root, env=environment(outdir),
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def tree(outdir: Path) -> dict[str, bytes]:
    return {path.relative_to(outdir).as_posix(): path.read_bytes() for path in sorted(outdir.rglob("*"))
            if path.is_file() and path.name not in RECORDS}


def edit(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line)


@pytest.fixture(scope="module")
def first(checkout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    outdir = tmp_path_factory.mktemp("synth") / "out"
    assert "synthesized into" in synth(checkout, outdir)
    return outdir


def test_a_handler_edit_gives_what_a_full_synth_gives(checkout: Path, first: Path, tmp_path: Path) -> None:
    before = tree(first)
    edit(checkout / "handlers" / "api" / "logic" / "health.py", "# edited\n")
    output = synth(checkout, first)
    assert "function code only, 1 zip(s) changed (api)" in output, output
    (checkout / "handlers" / "shared" / "new_helper.py").write_text("VALUE = 1\n")  # in every zip
    output = synth(checkout, first)
    assert "function code only, 8 zip(s) changed" in output, output
    full = tmp_path / "full"
    assert "synthesized into" in synth(checkout, full, "--force")
    resynthesized, synthesized = tree(first), tree(full)
    assert [name for name in resynthesized.keys() | synthesized.keys()
            if resynthesized.get(name) != synthesized.get(name)] == []
    changed = {name for name in resynthesized.keys() | before.keys() if resynthesized.get(name) != before.get(name)}
    assert {"stacks/local-app/cdk.tf.json", "stacks/dev-app/cdk.tf.json"} < changed
    assert [name for name in changed if name.endswith(".zip")]  # the old assets gone, the new ones there
    assert "synth cache fresh" in synth(checkout, first)


def test_what_the_stacks_read_means_a_full_synth(checkout: Path, first: Path) -> None:
    record = (first / code_resynth.RECORD_FILE).read_text()
    # The handler files the synth imports are part of the stacks (route metadata, constants).
    assert "handlers/api/routes_table.py" in record and "handlers/shared/constants.py" in record
    assert "handlers/api/logic/health.py" not in record
    before = tree(first)
    tools = synth_cache.tool_versions()

    def resynth() -> list[str] | None:
        return code_resynth.resynth(first, environment(first), CACHE_VARIABLES, checkout, tools)

    assert resynth() == []  # unchanged: nothing to put in, and no reason for a full synth
    for path in ("handlers/shared/constants.py", "modules/app.py", "config/dev.toml"):
        original = (checkout / path).read_text()
        edit(checkout / path, "\n# edited\n")
        try:
            assert resynth() is None, path
        finally:
            (checkout / path).write_text(original)
    assert code_resynth.resynth(first, {**environment(first), "WORKSPACES": "local"}, CACHE_VARIABLES,
                                checkout, tools) is None  # a configuration variable
    (first / code_resynth.RECORD_FILE).unlink()
    try:
        assert resynth() is None  # no record: the output may be from anything
    finally:
        (first / code_resynth.RECORD_FILE).write_text(record)
    assert tree(first) == before  # nothing was changed on the way


def test_nothing_is_recorded_when_a_file_changes_during_the_synth(checkout: Path, tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    outdir.mkdir()
    tools = synth_cache.tool_versions()
    started = synth_cache.inputs_digest(environment(outdir), CACHE_VARIABLES, checkout, tools)
    constants = checkout / "handlers" / "shared" / "constants.py"
    original = constants.read_text()
    edit(constants, "# edited during the synth\n")
    try:
        code_resynth.record(outdir, environment(outdir), CACHE_VARIABLES, checkout, tools, [],
                            synthesized_from=started)
    finally:
        constants.write_text(original)
    assert not (outdir / code_resynth.RECORD_FILE).exists()
    code_resynth.record(outdir, environment(outdir), CACHE_VARIABLES, checkout, tools, [],
                        synthesized_from=synth_cache.inputs_digest(environment(outdir), CACHE_VARIABLES,
                                                                   checkout, tools))
    assert (outdir / code_resynth.RECORD_FILE).exists()


def test_an_output_without_the_recorded_hash_means_a_full_synth(checkout: Path, tmp_path: Path, first: Path) -> None:
    intact, broken = shutil.copytree(first, tmp_path / "intact"), shutil.copytree(first, tmp_path / "broken")
    app = broken / "stacks" / "local-app" / "cdk.tf.json"
    app.write_text(app.read_text().replace('"artifacts/api/', '"artifacts/gone/'))  # no such function
    edit(checkout / "handlers" / "api" / "logic" / "health.py", "# edited again\n")
    before = tree(broken)

    def resynth(outdir: Path) -> list[str] | None:
        return code_resynth.resynth(outdir, environment(outdir), CACHE_VARIABLES, checkout,
                                    synth_cache.tool_versions())

    # CDKTF_OUTDIR is an input: the copies get the record of their own folder.
    imported = json.loads((first / code_resynth.RECORD_FILE).read_text())["imported_handlers"]
    for outdir in (intact, broken):
        code_resynth.record(outdir, environment(outdir), CACHE_VARIABLES, checkout, synth_cache.tool_versions(),
                            imported, synthesized_from=synth_cache.inputs_digest(environment(outdir), CACHE_VARIABLES,
                                                                       checkout, synth_cache.tool_versions()))
    assert resynth(intact) == ["api"]
    assert resynth(broken) is None
    assert tree(broken) == before
