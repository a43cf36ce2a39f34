"""`make redeploy-local` skips a stack only when neither it nor its upstream outputs changed (moto in
process, so this lives with the unit tests, before any local-mode emulator starts)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from delivery.stacks import Stack
from localmode.applied import AppliedRecords, configuration_digest, skip_reason

CONFIG = "a" * 64
ENDPOINT = "http://127.0.0.1:4566"


def test_an_unchanged_stack_with_unchanged_upstreams_is_skipped():
    assert skip_reason(CONFIG, {"configuration": CONFIG}, []) is not None


@pytest.mark.parametrize(("record", "changed_upstream"), [
    (None, []),                                             # never applied into this emulator
    ({"configuration": "b" * 64}, []),                 # its configuration changed
    ({"configuration": CONFIG}, ["local-data"]),       # an upstream's outputs changed
])
def test_a_changed_stack_or_one_whose_upstream_changed_is_applied(record, changed_upstream):
    assert skip_reason(CONFIG, record, changed_upstream) is None


def _stack(tmp_path: Path, name: str, document: dict) -> Stack:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "cdk.tf.json").write_text(json.dumps(document))
    return Stack(name, directory, ())


@mock_aws
def test_records_live_beside_the_state_and_follow_its_outputs(tmp_path):
    # Given a stack with S3 state in a bucket, and its state with outputs
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="state")
    stack = _stack(tmp_path, "local-data", {"terraform": {"backend": {"s3": {"bucket": "state",
                                                                            "key": "p/local/data.tfstate"}}}})
    s3.put_object(Bucket="state", Key="p/local/data.tfstate", Body=json.dumps({"outputs": {"t": {"value": 1}}}))
    records = AppliedRecords(s3)
    # When nothing was recorded yet, then a record is written after an apply
    assert records.get(stack) is None
    before = records.outputs_digest(stack)
    records.put(stack, configuration_digest(stack, ENDPOINT))
    assert records.get(stack) == {"configuration": configuration_digest(stack, ENDPOINT)}
    assert "p/local/data.tfstate.applied.json" in [o["Key"] for o in s3.list_objects_v2(Bucket="state")["Contents"]]
    # And a change of the state's outputs changes their digest; no state yet is no outputs
    assert AppliedRecords(s3).outputs_digest(_stack(tmp_path, "local-app", {"terraform": {"backend": {
        "s3": {"bucket": "state", "key": "p/local/app.tfstate"}}}})) == ""
    s3.put_object(Bucket="state", Key="p/local/data.tfstate", Body=json.dumps({"outputs": {"t": {"value": 2}}}))
    assert records.outputs_digest(stack) != before


def test_a_stack_with_local_state_has_no_record(tmp_path):
    stack = _stack(tmp_path, "bootstrap", {"terraform": {"backend": {"local": {"path": "x"}}}})
    assert AppliedRecords(s3=None).get(stack) is None


def test_the_emulator_endpoint_is_not_part_of_what_a_stack_was_applied_from(tmp_path):
    def synthesized(name: str, endpoint: str, memory: int) -> Stack:
        return _stack(tmp_path, name, {"provider": {"aws": [{"endpoints": [{"s3": endpoint, "lambda": endpoint}]}]},
                                       "resource": {"aws_lambda_function": {"f": {"memory_size": memory}}}})

    on_4566 = synthesized("a", ENDPOINT, 128)
    on_4567 = synthesized("b", "http://127.0.0.1:4567", 128)
    changed = synthesized("c", ENDPOINT, 256)
    # Another port for the emulator is the same configuration; another memory size is not
    assert configuration_digest(on_4566, ENDPOINT) == configuration_digest(on_4567, "http://127.0.0.1:4567")
    assert configuration_digest(on_4566, ENDPOINT) != configuration_digest(changed, ENDPOINT)
    # Without the endpoint left out, the port would count
    assert configuration_digest(on_4566, "unused") != configuration_digest(on_4567, "unused")
