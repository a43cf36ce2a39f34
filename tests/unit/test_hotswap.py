"""`make watch` refuses the workspaces whose code changes only through the reviewed pipeline, and loses
no edit saved while its first pass runs."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from delivery import hotswap


@pytest.mark.parametrize("workspace", ["staging", "prod"])
def test_staging_and_prod_are_refused_with_the_reason(workspace, capsys):
    # When a hotswap is asked for a reviewed workspace
    code = hotswap.main([workspace, "--once"])
    # Then it refuses before touching anything, naming the workspace and the way code gets there
    assert code == hotswap.EXIT_ERROR
    err = capsys.readouterr().err
    assert f"not '{workspace}'" in err and "reviewed pipeline" in err


def test_an_unknown_workspace_is_refused():
    assert hotswap.main(["qa", "--once"]) == hotswap.EXIT_ERROR


def test_an_edit_saved_while_the_first_pass_runs_is_swapped_next(tmp_path, monkeypatch):
    # The watcher is set up before the first pass: what is saved during it (or right after
    # "watching" is printed) is not lost. The pass itself is stood in for: it saves an edit.
    (tmp_path / "handlers").mkdir()
    handler = tmp_path / "handlers" / "health.py"
    handler.write_text("CHECK = 1\n")
    passes: list[str] = []
    stop = threading.Event()

    def swap(settings, build_dir, log, source_root):
        passes.append(handler.read_text())
        if len(passes) == 1:
            handler.write_text("CHECK = 2\n")
            time.sleep(0.5)  # the rest of the pass (build, upload, rollout)
        else:
            stop.set()
        return hotswap.EXIT_OK

    monkeypatch.setattr(hotswap, "swap", swap)
    lines: list[str] = []
    watcher = threading.Thread(target=hotswap.watch, args=(SimpleNamespace(workspace="local"), lines.append,
                                                           tmp_path, stop))
    watcher.start()
    watcher.join(timeout=20)
    stop.set()
    watcher.join(timeout=5)
    assert passes == ["CHECK = 1\n", "CHECK = 2\n"], lines
    assert any("changed handlers/health.py" in line for line in lines), lines
