"""The synth cache of `python main.py`: every kind of input invalidates it, `--force` bypasses it,
and a no-op run loads nothing from cdktf."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import main
from delivery import synth_cache
from modules.config import ENVIRONMENT_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ["python 3.11.7", "node v20", "cdktf==0.21.0"]


def fake_checkout(root: Path) -> Path:
    for name in ("modules/config/schema.py", "modules/app.py", "handlers/api/app.py", "handlers/shared/constants.py",
                 "config/prod.toml", "config/schema.json", "main.py", "cdktf.json", "Pipfile.lock",
                 "package-lock.json"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"# {name}\n")
    return root


def digest(root: Path, environ: dict[str, str] | None = None, tools: list[str] | None = None) -> str:
    return synth_cache.inputs_digest(environ or {}, ENVIRONMENT_VARIABLES, root, tools or TOOLS)


@pytest.mark.parametrize("path", ["modules/config/schema.py", "handlers/api/app.py", "handlers/shared/constants.py",
                                  "config/prod.toml", "config/schema.json", "main.py", "cdktf.json", "Pipfile.lock",
                                  "package-lock.json"])
def test_a_changed_source_or_lock_file_changes_the_digest(tmp_path: Path, path: str) -> None:
    root = fake_checkout(tmp_path)
    before = digest(root)
    (root / path).write_text((root / path).read_text() + "x = 1\n")
    assert digest(root) != before


def test_a_new_or_removed_source_file_changes_the_digest(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path)
    before = digest(root)
    (root / "handlers" / "api" / "extra.py").write_text("")
    added = digest(root)
    (root / "modules" / "app.py").unlink()
    assert len({before, added, digest(root)}) == 3


def test_bytecode_caches_do_not_count(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path)
    before = digest(root)
    (root / "modules" / "__pycache__").mkdir()
    (root / "modules" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")
    assert digest(root) == before


@pytest.mark.parametrize("name", [*ENVIRONMENT_VARIABLES, "CDKTF_OUTDIR"])
def test_every_configuration_variable_changes_the_digest(tmp_path: Path, name: str) -> None:
    root = fake_checkout(tmp_path)
    unset, set_ = digest(root), digest(root, {name: "value-1"})
    assert len({unset, set_, digest(root, {name: "value-2"})}) == 3


def test_other_variables_do_not_count(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path)
    assert digest(root, {"HOME": "/elsewhere"}) == digest(root)


def test_a_changed_tool_version_changes_the_digest(tmp_path: Path) -> None:
    root = fake_checkout(tmp_path)
    assert digest(root, tools=[*TOOLS[:2], "cdktf==0.21.1"]) != digest(root)
    assert digest(root, tools=["python 3.12.1", *TOOLS[1:]]) != digest(root)


def test_the_tool_versions_name_python_node_and_the_installed_packages() -> None:
    tools = synth_cache.tool_versions()
    assert tools[0].startswith("python ") and tools[1].startswith("node v")
    assert any(line.startswith("cdktf==") for line in tools)


class FakeApp:
    """What build_app returns, writing a manifest like cdktf's synth."""

    calls: list[str] = []

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.node = type("Node", (), {"children": []})()

    def synth(self) -> None:
        self.outdir.mkdir(parents=True, exist_ok=True)
        (self.outdir / "manifest.json").write_text(json.dumps({"stacks": {}}))
        FakeApp.calls.append(str(self.outdir))


@pytest.fixture
def fake_synth(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """main.main() with a fake checkout and a fake App: counts the synths that really run."""
    import modules.app_builder

    root = fake_checkout(tmp_path / "checkout")
    tools = list(TOOLS)
    outdir = tmp_path / "out"
    monkeypatch.setattr(synth_cache, "ROOT", root)
    monkeypatch.setattr(synth_cache, "tool_versions", lambda: list(tools))
    monkeypatch.setattr(modules.app_builder, "build_app", lambda workspaces: FakeApp(outdir))
    for name in (*ENVIRONMENT_VARIABLES, "LAMBDA_BUILD_PYTHON"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORKSPACES", "local")
    monkeypatch.setenv("CDKTF_OUTDIR", str(outdir))
    FakeApp.calls = []
    return {"root": root, "tools": tools, "outdir": outdir}


def synths(argv: list[str] | None = None) -> int:
    before = len(FakeApp.calls)
    assert main.main(argv or []) == 0
    return len(FakeApp.calls) - before


def test_an_unchanged_input_skips_the_synth_and_force_bypasses_it(fake_synth: dict[str, Any],
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert synths() == 1
    assert synths() == 0
    assert "synth cache fresh" in capsys.readouterr().out
    assert synths(["--force"]) == 1
    assert synths() == 0


@pytest.mark.parametrize("change", ["source", "config file", "lock", "variable", "build interpreter", "outdir", "tool",
                                    "output removed", "digest removed"])
def test_each_kind_of_input_change_gives_a_fresh_synth(fake_synth: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                                       change: str) -> None:
    root, outdir = fake_synth["root"], fake_synth["outdir"]
    assert synths() == 1 and synths() == 0
    if change == "source":
        (root / "handlers" / "api" / "app.py").write_text("changed = True\n")
    elif change == "config file":  # a reviewed one-line change of a workspace's settings
        (root / "config" / "prod.toml").write_text('alert_emails = ["oncall@example.com"]\n')
    elif change == "lock":
        (root / "Pipfile.lock").write_text("{}\n")
    elif change == "variable":
        monkeypatch.setenv("ALERT_EMAILS", "ops@example.com")
    elif change == "build interpreter":  # bytecode in the artifacts, or sources only
        monkeypatch.setenv("LAMBDA_BUILD_PYTHON", "/opt/python3.13/bin/python3.13")
    elif change == "outdir":
        monkeypatch.setenv("CDKTF_OUTDIR", str(outdir.parent / "elsewhere"))
        outdir.rename(outdir.parent / "elsewhere")  # the same output, recorded for another directory
    elif change == "tool":
        fake_synth["tools"].append("node-gyp==11")
    elif change == "output removed":
        (outdir / "manifest.json").unlink()  # `make clean`
    else:
        (outdir / synth_cache.DIGEST_FILE).unlink()
    assert synths() == 1
    assert synths() == 0


def test_a_failed_synth_is_not_taken_as_fresh(fake_synth: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    assert synths() == 1
    (fake_synth["root"] / "modules" / "app.py").write_text("changed = True\n")

    def broken(self: FakeApp) -> None:
        raise RuntimeError("synth failed")

    monkeypatch.setattr(FakeApp, "synth", broken)
    with pytest.raises(RuntimeError):
        main.main([])
    monkeypatch.undo()  # back to the real inputs; the record of the earlier synth is gone
    assert not (fake_synth["outdir"] / synth_cache.DIGEST_FILE).exists()


def test_a_no_op_run_of_the_real_main_loads_nothing_from_cdktf(tmp_path: Path) -> None:
    """The cache check runs before the provider bindings are imported (a no-op costs well under 2 s)."""
    outdir = tmp_path / "out"
    script = (
        "import os, sys, pathlib, json\n"
        "from delivery import synth_cache\n"
        "import main\n"
        "out = pathlib.Path(os.environ['CDKTF_OUTDIR']); out.mkdir()\n"
        "(out / 'manifest.json').write_text(json.dumps({'stacks': {}}))\n"
        "synth_cache.record(out, synth_cache.inputs_digest(os.environ, main.CACHE_VARIABLES))\n"
        "assert main.main([]) == 0\n"
        "print('loaded:', sorted(m for m in sys.modules if m.split('.')[0] in ('cdktf', 'jsii', 'constructs')))\n"
    )
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir), "WORKSPACES": "local"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "synth cache fresh" in result.stdout
    assert "loaded: []" in result.stdout
