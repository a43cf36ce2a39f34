"""One synth of every workspace per test session (importing the provider bindings
costs seconds, so it is paid once)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.terraform import Terraform
from modules.config import load_settings
from tests.infra.synthesized import Synthesized

# The environment a user would set: alert e-mails on, everything else default.
SESSION_ENVIRONMENT = {"ALERT_EMAILS": "ops@example.com,oncall@example.com"}
# The settings the session synth is built from, per workspace.
SETTINGS = {s.workspace: s for s in load_settings(SESSION_ENVIRONMENT)}


def synth_into(outdir: Path, environ: dict[str, str] | None = None) -> Synthesized:
    from modules.app_builder import build_app

    app = build_app(load_settings(environ or SESSION_ENVIRONMENT), outdir=str(outdir))
    app.synth()
    return Synthesized(outdir)


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synth_into(tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="session")
def synth_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    """Every workspace with the HTTP API variant (`API_KIND=http`)."""
    yield synth_into(tmp_path_factory.mktemp("synth-http"), {**SESSION_ENVIRONMENT, "API_KIND": "http"})


@pytest.fixture(scope="module")
def terraform() -> Iterator[Terraform]:
    """The Terraform harness (provider from the mirror, when there is one)."""
    runner = Terraform()
    yield runner
    runner.close()
