"""Fixtures for the local-mode tests: one in-process emulator on a free port, deployed with boto3.

The deployment mirrors what Terraform creates for the ``local`` workspace (names, handler strings,
environment variables, ``live`` aliases, the job workflow's ASL shape, the stream mapping, the API
key) without Terraform: these tests cover the local-mode runtime, not the infrastructure.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import sys
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from localmode import runtime, stream_mapping
from localmode.emulator import Emulator

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-west-2"
ACCOUNT = "123456789012"
PREFIX = "serverless-app-local"
TABLE = f"{PREFIX}-items"
IDEMPOTENCY_TABLE = f"{PREFIX}-idempotency"
STATE_MACHINE = f"{PREFIX}-jobs"
TOPIC = f"{PREFIX}-events"
ASYNC_ERRORS = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                "Lambda.TooManyRequestsException"]


def code_zip(files: Mapping[str, str | bytes]) -> bytes:
    """A Lambda zip holding ``path -> content``: local mode imports the handler from it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in sorted(files.items()):
            archive.writestr(name, content)
    return buffer.getvalue()


def dummy_zip() -> bytes:
    """A placeholder zip without code, for functions the tests never invoke (an invocation would fail
    with ``Runtime.ImportModuleError``, as on AWS)."""
    return code_zip({"README.txt": "no code"})


@functools.cache
def repository_handlers_zip() -> bytes:
    """The repository's ``handlers`` package as a function zip holds it (sources only)."""
    sources = sorted(path for path in (REPO_ROOT / "handlers").rglob("*.py") if "__pycache__" not in path.parts)
    return code_zip({path.relative_to(REPO_ROOT).as_posix(): path.read_bytes() for path in sources})


def probe_zip() -> bytes:
    """The probe package ``lm_probe`` (see :data:`PROBE_FILES`) as a function zip."""
    return code_zip({f"lm_probe/{name}": text.lstrip() for name, text in PROBE_FILES.items()})


def handler_zip(handler: str) -> bytes:
    """The code a function with ``handler`` is deployed with: the repository's handlers or the probe."""
    package = handler.split(".", 1)[0]
    return repository_handlers_zip() if package == "handlers" else probe_zip()


def workflow_definition(task_arns: dict[str, str]) -> dict[str, Any]:
    """The job workflow's shape: direct Lambda ARNs, Retry on service errors, Catch -> MarkFailed -> Fail."""

    def retry(errors: list[str]) -> dict[str, Any]:
        return {"ErrorEquals": errors, "IntervalSeconds": 1, "MaxAttempts": 2, "BackoffRate": 2.0,
                "JitterStrategy": "FULL"}

    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}]
    no_retry = {"ErrorEquals": ["JobValidationError", "JobStateConflict", "JobNotFound"], "MaxAttempts": 0}
    return {
        "StartAt": "ValidateInput",
        "States": {
            "ValidateInput": {"Type": "Task", "Resource": task_arns["validate"], "Retry": [retry(ASYNC_ERRORS)],
                              "Catch": catch, "Next": "ProcessData"},
            "ProcessData": {"Type": "Task", "Resource": task_arns["process"],
                            "Retry": [no_retry, retry([*ASYNC_ERRORS, "TransientError", "States.TaskFailed"])],
                            "Catch": catch, "Next": "SendNotification"},
            "SendNotification": {"Type": "Task", "Resource": task_arns["notify"],
                                 "Retry": [retry([*ASYNC_ERRORS, "TransientError"])], "Catch": catch,
                                 "Next": "Succeeded"},
            "Succeeded": {"Type": "Succeed"},
            "MarkFailed": {"Type": "Task", "Resource": task_arns["mark-failed"], "Next": "Failed"},
            "Failed": {"Type": "Fail", "Error": "JobFailed", "Cause": "the job was marked FAILED"},
        },
    }


@dataclass
class Deployment:
    """The deployed resources and boto3 clients pointed at the emulator."""

    endpoint: str
    session: boto3.session.Session
    role_arn: str = ""
    topic_arn: str = ""
    probe_queue_url: str = ""
    state_machine_arn: str = ""
    aliases: dict[str, str] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)

    def client(self, service: str) -> Any:
        """A boto3 client for the emulator."""
        return self.session.client(service, endpoint_url=self.endpoint)  # type: ignore[call-overload]

    def create_table(self, name: str, *, stream: bool = True) -> str:
        """A table with the product's key schema (pk/sk, GSI1, TTL); returns its stream ARN."""
        dynamodb = self.client("dynamodb")
        keys = ("pk", "sk", "gsi1pk", "gsi1sk")
        table = dynamodb.create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in keys],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "GSI1", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
                {"AttributeName": "gsi1pk", "KeyType": "HASH"}, {"AttributeName": "gsi1sk", "KeyType": "RANGE"}]}],
            StreamSpecification={"StreamEnabled": stream, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True,
                                                                               "AttributeName": "expires_at"})
        return str(table.get("LatestStreamArn", ""))

    def create_function(self, short: str, handler: str, environment: dict[str, str], *,
                        name: str | None = None, timeout: int = 30, code: bytes | None = None) -> str:
        """A function + version + ``live`` alias, like the product's function helper; returns the alias ARN.
        The code is ``code``, else the package of ``handler`` (:func:`handler_zip`)."""
        function_name = name or f"{PREFIX}-{short}"
        variables = {"POWERTOOLS_SERVICE_NAME": short, "POWERTOOLS_METRICS_NAMESPACE": "serverless-app",
                     "POWERTOOLS_LOG_LEVEL": "WARNING", **environment}
        function = self.client("lambda").create_function(
            FunctionName=function_name, Runtime="python3.13", Role=self.role_arn, Handler=handler,
            Code={"ZipFile": code if code is not None else handler_zip(handler)}, Timeout=timeout, MemorySize=256,
            Publish=True, Environment={"Variables": variables})
        alias = self.client("lambda").create_alias(FunctionName=function_name, Name="live",
                                                   FunctionVersion=function["Version"])
        self.aliases[short] = alias["AliasArn"]
        return str(alias["AliasArn"])

    def create_queue(self, name: str) -> tuple[str, str]:
        """An SQS queue: (url, ARN)."""
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def published(self, event_type: str, predicate: Callable[[dict[str, Any]], bool],
                  timeout: float = 10.0) -> dict[str, Any] | None:
        """The first event of ``event_type`` published to the topic that satisfies ``predicate``."""
        sqs = self.client("sqs")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in sqs.receive_message(QueueUrl=self.probe_queue_url, MaxNumberOfMessages=10,
                                               WaitTimeSeconds=0).get("Messages", []):
                envelope = json.loads(message["Body"])
                attributes = envelope.get("MessageAttributes", {})
                self.received.append({"event_type": attributes.get("event_type", {}).get("Value"),
                                      "body": json.loads(envelope["Message"])})
                sqs.delete_message(QueueUrl=self.probe_queue_url, ReceiptHandle=message["ReceiptHandle"])
            found = [m["body"] for m in self.received if m["event_type"] == event_type and predicate(m["body"])]
            if found:
                return found[0]
            time.sleep(0.1)
        return None


def _deploy(deployment: Deployment) -> None:
    deployment.role_arn = deployment.client("iam").create_role(
        RoleName=f"{PREFIX}-role", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )["Role"]["Arn"]
    stream_arn = deployment.create_table(TABLE)
    deployment.client("dynamodb").create_table(
        TableName=IDEMPOTENCY_TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    sns = deployment.client("sns")
    deployment.topic_arn = sns.create_topic(Name=TOPIC)["TopicArn"]
    deployment.probe_queue_url, probe_arn = deployment.create_queue("events-probe")
    sns.subscribe(TopicArn=deployment.topic_arn, Protocol="sqs", Endpoint=probe_arn)
    _, dlq_arn = deployment.create_queue(f"{PREFIX}-stream-consumer-dlq")
    state_machine_arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE}"
    table, topic = {"TABLE_NAME": TABLE}, {"EVENTS_TOPIC_ARN": deployment.topic_arn}
    deployment.create_function("api", "handlers.api.app.lambda_handler", {
        **table, "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE, "STATE_MACHINE_ARN": state_machine_arn}, timeout=29)
    deployment.create_function("validate", "handlers.workflow.validate.lambda_handler", {})
    deployment.create_function("process", "handlers.workflow.process.lambda_handler", table)
    deployment.create_function("notify", "handlers.workflow.notify.lambda_handler", {**table, **topic})
    deployment.create_function("mark-failed", "handlers.workflow.mark_failed.lambda_handler", table)
    consumer = deployment.create_function("stream-consumer", "handlers.stream.consumer.lambda_handler", topic)
    deployment.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=consumer, StartingPosition="LATEST", BatchSize=100,
        MaximumRetryAttempts=3, FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}})
    deployment.state_machine_arn = deployment.client("stepfunctions").create_state_machine(
        name=STATE_MACHINE, type="STANDARD", roleArn=deployment.role_arn,
        definition=json.dumps(workflow_definition(deployment.aliases)),
        loggingConfiguration={"level": "OFF", "includeExecutionData": False},
        tracingConfiguration={"enabled": True},
    )["stateMachineArn"]
    assert deployment.state_machine_arn == state_machine_arn
    apigateway = deployment.client("apigateway")
    rest_api = apigateway.create_rest_api(name=f"{PREFIX}-api")
    apigateway.put_gateway_response(
        restApiId=rest_api["id"], responseType="INVALID_API_KEY", statusCode="403",
        responseTemplates={"application/json": '{"error":{"code":"forbidden","message":"a valid x-api-key header '
                                               'is required","request_id":"$context.requestId"}}'})
    apigateway.create_api_key(name=f"{PREFIX}-api-key", enabled=True)


@pytest.fixture(scope="package")
def emulator() -> Iterator[Emulator]:
    """The in-process emulator on a free port, for the whole package."""
    with Emulator(port=0) as running:
        yield running


@pytest.fixture(scope="package")
def deployment(emulator: Emulator) -> Deployment:
    """The local workspace's resources, created with boto3."""
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="test", aws_secret_access_key="test")
    deployed = Deployment(endpoint=emulator.endpoint, session=session)
    _deploy(deployed)
    return deployed


@pytest.fixture(scope="package")
def local_api(deployment: Deployment) -> Iterator[runtime.LocalApi]:
    """The API server in front of the deployed api function, on a free port."""
    api = runtime.start(deployment.endpoint, api_port=0, region=REGION, project="serverless-app")
    yield api
    api.stop()


@pytest.fixture
def settled() -> Callable[[], None]:
    """Wait until the stream delivery has nothing in flight."""

    def wait() -> None:
        assert stream_mapping.wait_idle(timeout=15), "stream records still in flight"

    return wait


PROBE_FILES = {
    "__init__.py": "",
    "state.py": """
import os
CALLS = []
SETTING_AT_IMPORT = os.environ.get("PROBE_SETTING")
""",
    "lazy.py": """
import os
SETTING_AT_IMPORT = os.environ.get("PROBE_SETTING")
""",
    "app.py": """
import os
from lm_probe import state


class ProbeFailure(Exception):
    pass


def lambda_handler(event, context):
    state.CALLS.append(event)
    if event.get("fail"):
        raise ProbeFailure("asked to fail")
    if event.get("unserializable"):
        return object()
    from lm_probe import lazy
    return {
        "calls": len(state.CALLS),
        "setting_at_import": state.SETTING_AT_IMPORT,
        "lazy_setting_at_import": lazy.SETTING_AT_IMPORT,
        "setting_now": os.environ.get("PROBE_SETTING"),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
        "profile": os.environ.get("AWS_PROFILE"),
        "function_name_env": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
        "context": {
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "aws_request_id": context.aws_request_id,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }
""",
    "broken.py": """
raise RuntimeError("init failed")
""",
    "task.py": """
import os


class TransientError(Exception):
    pass


def lambda_handler(event, context):
    with open(os.environ["PROBE_LOG"], "a") as log:
        log.write("attempt\\n")
    with open(os.environ["PROBE_LOG"]) as log:
        attempts = len(log.readlines())
    if attempts == 1:
        raise TransientError("throttled, try again")
    return {**event, "attempts": attempts}
""",
    "stream.py": """
import json
import os
import time


def lambda_handler(event, context):
    sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
    with open(os.environ["PROBE_LOG"], "a") as log:
        log.write(json.dumps(sequence_numbers) + "\\n")
    if os.environ.get("PROBE_MODE") == "down":
        raise RuntimeError("consumer down")
    with open(os.environ["PROBE_LOG"]) as log:
        attempts = len(log.readlines())
    if attempts > 1:
        return {"batchItemFailures": []}
    time.sleep(1)  # a slow first delivery: the writer must not wait for it
    return {"batchItemFailures": [{"itemIdentifier": sequence_numbers[0]}]}
""",
}


@pytest.fixture(scope="package")
def probe_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A tiny handler package ``lm_probe`` on sys.path, to observe what the runtime gives a handler."""
    root = tmp_path_factory.mktemp("probe")
    (root / "lm_probe").mkdir()
    for name, text in PROBE_FILES.items():
        (root / "lm_probe" / name).write_text(text.lstrip())
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield "lm_probe"
    sys.path.remove(str(root))
