"""One synth of every workspace per test session (importing the provider bindings
costs seconds, so it is paid once), and the real tools run on it (`terraform validate`
of every stack in one run, tests/infra/validation.py; checkov) started together in the
background on first use, sharing one provider plugin cache, so their minutes overlap
instead of adding up."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from delivery.terraform import Terraform
from devtools.checkov import CheckovReport, run_checkov
from modules.config import load_settings
from tests.infra.synthesized import Synthesized
from tests.infra.validation import Validation, validate_together

# The environment a user would set: alert e-mails on, everything else default.
SESSION_ENVIRONMENT = {"ALERT_EMAILS": "ops@example.com,oncall@example.com",
                       # The repository whose workflows the `ci` stack's roles trust.
                       "GITHUB_REPOSITORY": "example-org/serverless-app"}
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


class ToolRuns:
    """`terraform validate` of sets of stacks and checkov per scanned directory, each
    submitted once to a shared pool; tests wait for the result they assert on."""

    def __init__(self, terraform: Terraform, workers: int) -> None:
        self.terraform = terraform
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tools")
        self._scans: dict[Path, Future[CheckovReport]] = {}

    def start_validation(self, wrapper: Path, modules: dict[str, Path]) -> Future[Validation]:
        """The stacks in `modules` (module name -> stack dir), all in one `terraform validate`
        (tests/infra/validation.py)."""
        return self.pool.submit(validate_together, self.terraform, wrapper, modules)

    def start_checkov(self, stacks_dir: Path) -> Future[CheckovReport]:
        if stacks_dir not in self._scans:
            self._scans[stacks_dir] = self.pool.submit(run_checkov, stacks_dir)
        return self._scans[stacks_dir]

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)
        self.terraform.close()


# The stacks whose synthesized JSON depends on the API kind: the HTTP synth is validated and
# scanned for these only (the others are byte-identical to the REST synth, see test_tools_http).
HTTP_KIND_DEPENDENT_LAYERS = ("app", "observability")


def http_module(stack: str) -> str:
    """The module name of an HTTP-kind stack in the session's validation."""
    return f"http-{stack}"


def http_only_stacks(synthesized: Synthesized) -> list[str]:
    return [name for name in synthesized.stack_names() if name.split("-", 1)[-1] in HTTP_KIND_DEPENDENT_LAYERS
            and name != "bootstrap"]


@pytest.fixture(scope="session")
def tool_runs(synth: Synthesized, synth_http: Synthesized,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolRuns]:
    """Every validate and checkov scan of the session, started now, run 2-3 at a time.
    checkov goes first: it is the longest single run."""
    runs = ToolRuns(Terraform(), workers=max(2, min(3, os.cpu_count() or 2)))
    scanned_http = tmp_path_factory.mktemp("checkov-http") / "stacks"
    for stack in http_only_stacks(synth_http):
        (scanned_http / stack).mkdir(parents=True)
        shutil.copyfile(synth_http.stacks_dir / stack / "cdk.tf.json", scanned_http / stack / "cdk.tf.json")
    runs.start_checkov(synth.stacks_dir)
    runs.start_checkov(scanned_http)
    # REST stacks keep their names; the HTTP kind's are prefixed (module names are unique).
    stacks = {**{name: synth.stacks_dir / name for name in synth.stack_names()},
              **{http_module(name): synth_http.stacks_dir / name for name in http_only_stacks(synth_http)}}
    wrapper = tmp_path_factory.mktemp("validate") / "session"
    runs.validation = runs.start_validation(wrapper, stacks)  # type: ignore[attr-defined]
    runs.http_scan_dir = scanned_http  # type: ignore[attr-defined]
    yield runs
    runs.close()
