"""Where the Terraform harness gets the AWS provider from."""

from __future__ import annotations

from pathlib import Path

import pytest

from delivery.terraform import Terraform, TerraformError, provider_mirror


def fake_mirror(root: Path) -> Path:
    (root / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0" / "linux_amd64").mkdir(parents=True)
    return root


def test_the_configured_mirror_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(tmp_path))

    assert provider_mirror() == str(tmp_path)


def test_without_the_variable_the_machine_mirror_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    mirror = fake_mirror(tmp_path / ".terraform.d" / "plugins")
    monkeypatch.delenv("TF_PROVIDER_MIRROR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # the user's plugin directory is searched first

    assert provider_mirror() == str(mirror)


def test_the_harness_installs_the_provider_from_the_mirror_only(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(fake_mirror(tmp_path)))
    terraform = Terraform()
    try:
        config = Path(terraform.env["TF_CLI_CONFIG_FILE"]).read_text()
    finally:
        terraform.close()

    assert f'filesystem_mirror {{\n    path = "{tmp_path}"' in config


def test_a_mirror_that_is_not_a_directory_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(tmp_path / "missing"))

    with pytest.raises(TerraformError, match="is not a directory"):
        Terraform()
