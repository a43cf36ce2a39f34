"""``python -m localmode.emulator``: serves until Ctrl-C, then frees its ports; serves the API once deployed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
import requests

from tests.localmode.conftest import IDEMPOTENCY_TABLE, PREFIX, REGION, TABLE, Deployment
from tests.localmode.ports import free_port, port_is_free

REPO_ROOT = Path(__file__).resolve().parents[2]






def wait_for(url: str, timeout: float = 30.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, timeout=5)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture
def cli() -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    """The CLI in a subprocess, on free ports, with the API served once deployed."""
    emulator_port, api_port = free_port(), free_port()
    environment = {**os.environ, "PROJECT_NAME": "serverless-app", "DEPLOY_REGION": REGION}
    process = subprocess.Popen(
        [sys.executable, "-m", "localmode.emulator", "--port", str(emulator_port), "--api-port", str(api_port)],
        cwd=REPO_ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield process, emulator_port, api_port
    if process.poll() is None:
        process.kill()
        process.wait()


def test_the_cli_serves_the_deployed_api_until_interrupted(cli: tuple[subprocess.Popen[str], int, int]) -> None:
    process, emulator_port, api_port = cli
    endpoint = f"http://127.0.0.1:{emulator_port}"
    wait_for(endpoint + "/moto-api/")
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    deployment = Deployment(endpoint=endpoint, session=session)
    deployment.role_arn = deployment.client("iam").create_role(
        RoleName="role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    deployment.create_table(TABLE)
    deployment.create_function("api", "handlers.api.app.lambda_handler", {
        "TABLE_NAME": TABLE, "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE,
        "STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:123456789012:stateMachine:{PREFIX}-jobs"})
    deployment.client("apigateway").create_api_key(name=f"{PREFIX}-api-key", enabled=True)

    health = wait_for(f"http://127.0.0.1:{api_port}/health")
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)

    assert health.status_code == 200, health.text
    assert process.returncode == 0, output
    assert "AWS emulator stopped" in output
    assert port_is_free(emulator_port) and port_is_free(api_port)


RESTART_SCRIPT = """
import boto3
from localmode.emulator import Emulator

def tables(endpoint):
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-west-2",
                          aws_access_key_id="test", aws_secret_access_key="test")
    return client, client.list_tables()["TableNames"]

with Emulator(port=0) as first:
    client, _ = tables(first.endpoint)
    client.create_table(TableName="left-behind", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    print("first:", tables(first.endpoint)[1])
with Emulator(port=0) as second:
    print("second:", tables(second.endpoint)[1])
"""


def test_an_emulator_started_after_another_begins_empty() -> None:
    # In a subprocess: this process's emulator (the package fixture) must keep its state.
    result = subprocess.run([sys.executable, "-c", RESTART_SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120, check=False)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["first: ['left-behind']", "second: []"]
