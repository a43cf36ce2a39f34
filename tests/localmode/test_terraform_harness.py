"""The Terraform harness as local mode uses it, on real Terraform with its built-in
`terraform_data` resource (no provider to install): -json events streamed as they come,
progress counted from them, and a cancelled apply killed with everything it started."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from delivery.terraform import Terraform, TerraformCancelled
from localmode.progress import StackProgress

pytestmark = pytest.mark.terraform


def stack(directory: Path, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.tf").write_text(body)
    return directory


@pytest.fixture
def terraform(tmp_path: Path) -> Terraform:
    runner = Terraform(mirror="", plugin_cache=tmp_path / "plugin-cache")
    yield runner
    runner.close()


def test_apply_streams_json_events_that_progress_counts(tmp_path: Path, terraform: Terraform) -> None:
    directory = stack(tmp_path / "three", """
resource "terraform_data" "a" { input = "a" }
resource "terraform_data" "b" { input = terraform_data.a.output }
resource "terraform_data" "c" { input = "c" }
""")
    terraform.init(directory)
    progress = StackProgress("three")
    seen: list[str] = []

    def on_event(event: dict[str, object]) -> None:
        seen.append(str(event.get("type")))
        progress.on_event(event)

    result = terraform.stream(directory, "apply", "-auto-approve", "-input=false", on_event=on_event)
    assert result.returncode == 0
    assert seen[0] == "version" and "change_summary" in seen and seen.count("apply_complete") == 3
    assert (progress.total, progress.done, progress.in_flight) == (3, 3, {})
    assert progress.end_line().endswith("3 resources created")


def test_a_failed_apply_reports_the_resource_and_terraforms_message(tmp_path: Path, terraform: Terraform) -> None:
    directory = stack(tmp_path / "failing", """
resource "terraform_data" "broken" {
  provisioner "local-exec" { command = "echo no such thing >&2; exit 3" }
}
""")
    terraform.init(directory)
    progress = StackProgress("failing")
    result = terraform.stream(directory, "apply", "-auto-approve", "-input=false", on_event=progress.on_event,
                              check=False)
    assert result.returncode != 0
    text = progress.failure_text(result.stderr)
    assert text.startswith("failing: apply failed at terraform_data.broken")
    assert "local-exec provisioner error" in text


def descendants_alive(marker: str) -> list[int]:
    alive = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_text():
                    alive.append(int(entry.name))
            except OSError:
                continue
    return alive


def test_cancelling_kills_terraform_and_what_it_started(tmp_path: Path, terraform: Terraform) -> None:
    marker = f"sleep {600 + os.getpid() % 300}"  # a command line only this test runs
    directory = stack(tmp_path / "slow", f"""
resource "terraform_data" "slow" {{
  provisioner "local-exec" {{ command = "{marker}" }}
}}
""")
    terraform.init(directory)
    cancelled = threading.Event()
    started = threading.Event()

    def on_event(event: dict[str, object]) -> None:
        if event.get("type") == "apply_start":
            started.set()

    def cancel_when_started() -> None:
        started.wait(60)
        deadline = time.monotonic() + 30
        while not descendants_alive(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        cancelled.set()

    threading.Thread(target=cancel_when_started, daemon=True).start()
    with pytest.raises(TerraformCancelled, match="stopped"):
        terraform.stream(directory, "apply", "-auto-approve", "-input=false", on_event=on_event,
                         cancelled=cancelled)
    assert cancelled.is_set()
    deadline = time.monotonic() + 5
    while descendants_alive(marker.replace("sleep ", "sleep\0")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert descendants_alive(marker.replace("sleep ", "sleep\0")) == []


def test_terraform_runs_with_the_harness_gc_setting_unless_the_user_sets_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOGC", raising=False)

    def environment_of_terraform() -> dict[str, str]:
        runner = Terraform(mirror="", plugin_cache=tmp_path / "cache")
        runner.close()
        return runner.env  # every Terraform subprocess (and its provider plugins) gets exactly this

    assert environment_of_terraform()["GOGC"] == "400"
    monkeypatch.setenv("GOGC", "150")
    assert environment_of_terraform()["GOGC"] == "150"
