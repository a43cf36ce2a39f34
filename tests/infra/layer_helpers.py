"""Checks shared by the layer tests (test_bootstrap, test_security, test_network, test_data)."""

from __future__ import annotations

from typing import Any

from tests.infra.synthesized import Synthesized, policy


def data_ref(synth: Synthesized, stack: str, dtype: str, path: str, attribute: str) -> str:
    """The Terraform reference to an attribute of the data source at construct path `path`."""
    (unique_id,) = [uid for uid, cfg in synth.stack(stack)["data"][dtype].items()
                    if cfg["//"]["metadata"]["path"] == f"{stack}/{path}"]
    return f"${{data.{dtype}.{unique_id}.{attribute}}}"


def assert_secure_bucket(synth: Synthesized, stack: str, path: str, *,
                         kms: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """The baseline every guarded bucket at `path` (a SecureBucket construct) meets: versioned,
    encrypted (SSE-KMS with a bucket key, or SSE-S3), no public access, owner-enforced objects,
    TLS-only policy, and a lifecycle that expires old versions and aborts stale uploads.
    Returns the bucket policy document and the lifecycle rule, for checks of one bucket.

    Plain asserts outside a test module are not rewritten by pytest, so each one names what failed."""
    where = f"{stack}: {path}"
    synth.resource(stack, "aws_s3_bucket", f"{path}/bucket")
    versioning = synth.resource(stack, "aws_s3_bucket_versioning", f"{path}/versioning")
    assert versioning["versioning_configuration"]["status"] == "Enabled", f"{where} versioning {versioning}"
    rule = synth.resource(stack, "aws_s3_bucket_server_side_encryption_configuration", f"{path}/encryption")["rule"][0]
    default = rule["apply_server_side_encryption_by_default"]
    if kms:
        assert default["sse_algorithm"] == "aws:kms" and default["kms_master_key_id"], f"{where} encryption {rule}"
        assert rule["bucket_key_enabled"] is True, f"{where} bucket key {rule}"
    else:
        assert default["sse_algorithm"] == "AES256", f"{where} encryption {rule}"
    block = synth.resource(stack, "aws_s3_bucket_public_access_block", f"{path}/public_access_block")
    assert all(block[k] is True for k in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                                          "restrict_public_buckets")), f"{where} public access block {block}"
    ownership = synth.resource(stack, "aws_s3_bucket_ownership_controls", f"{path}/ownership")
    assert ownership["rule"]["object_ownership"] == "BucketOwnerEnforced", f"{where} ownership {ownership['rule']}"
    document = policy(synth.resource(stack, "aws_s3_bucket_policy", f"{path}/policy")["policy"])
    tls = [s for s in document["Statement"] if s.get("Sid") == "DenyInsecureTransport"]
    assert tls and tls[0]["Effect"] == "Deny", f"{where} policy {document}"
    assert tls[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, f"{where} TLS condition {tls[0]}"
    lifecycle = synth.resource(stack, "aws_s3_bucket_lifecycle_configuration", f"{path}/lifecycle")["rule"][0]
    assert lifecycle["status"] == "Enabled", f"{where} lifecycle {lifecycle}"
    assert lifecycle["noncurrent_version_expiration"][0]["noncurrent_days"] >= 1, f"{where} lifecycle {lifecycle}"
    abort_after = lifecycle["abort_incomplete_multipart_upload"][0]["days_after_initiation"]
    assert abort_after == 7, f"{where} lifecycle {lifecycle}"
    return document, lifecycle
