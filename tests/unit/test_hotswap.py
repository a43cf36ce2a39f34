"""`make watch` refuses the workspaces whose code changes only through the reviewed pipeline."""

from __future__ import annotations

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
