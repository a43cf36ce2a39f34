"""Last e2e step: `terraform destroy` of every local-* stack (what `make destroy-local` runs)
removes them from the emulator (the state bucket goes with the emulator itself)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_destroy_succeeds(local_backend):
    codedeploy = local_backend.client("codedeploy")
    assert "serverless-app-local-functions" in codedeploy.list_applications()["applications"]
    local_backend.deployer.destroy()
    functions = local_backend.client("lambda").list_functions()["Functions"]
    assert not [f for f in functions if f["FunctionName"].startswith("serverless-app-local-")]
    buckets = [b["Name"] for b in local_backend.client("s3").list_buckets()["Buckets"]]
    assert not [b for b in buckets if b.startswith("serverless-app-local-")]  # code and log buckets
    tables = local_backend.client("dynamodb").list_tables()["TableNames"]
    assert not [t for t in tables if t.startswith("serverless-app-local-")]
    # The CodeDeploy application, after its deployment groups (the provider's destroy of them in the
    # emulator; tests/localmode/test_codedeploy_terraform.py applies and updates them).
    assert not [a for a in codedeploy.list_applications()["applications"] if a.startswith("serverless-app-local-")]
