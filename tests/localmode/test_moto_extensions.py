"""The operations local mode adds to the emulator answer as AWS does."""

from __future__ import annotations

import json

import boto3
import pytest

from localmode.emulator import Emulator


@pytest.fixture(scope="module")
def sfn():
    with Emulator(port=0) as emulator:
        yield boto3.client("stepfunctions", endpoint_url=emulator.endpoint, region_name="us-west-2",
                           aws_access_key_id="test", aws_secret_access_key="test")


def test_valid_definition_is_ok(sfn):
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    result = sfn.validate_state_machine_definition(definition=definition, type="STANDARD")
    assert result["result"] == "OK" and result["diagnostics"] == []


def test_broken_definition_fails_with_a_diagnostic(sfn):
    result = sfn.validate_state_machine_definition(definition="{not json", type="STANDARD")
    assert result["result"] == "FAIL"
    assert result["diagnostics"][0]["severity"] == "ERROR"


def test_unpublished_state_machine_has_no_versions(sfn):
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    arn = sfn.create_state_machine(name="versions", definition=definition,
                                   roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
    assert sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"] == []


def test_function_keeps_dead_letter_and_logging_config():
    with Emulator(port=0) as emulator:
        client = boto3.client("lambda", endpoint_url=emulator.endpoint, region_name="us-west-2",
                              aws_access_key_id="test", aws_secret_access_key="test")
        iam = boto3.client("iam", endpoint_url=emulator.endpoint, region_name="us-west-2",
                           aws_access_key_id="test", aws_secret_access_key="test")
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        import io
        import zipfile

        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", "def handler(e, c):\n    return e\n")
        dlq = {"TargetArn": "arn:aws:sqs:us-west-2:123456789012:dlq"}
        logging = {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "INFO",
                   "LogGroup": "/aws/lambda/fn"}
        client.create_function(FunctionName="fn", Runtime="python3.11", Role=role, Handler="index.handler",
                               Code={"ZipFile": buffer.getvalue()}, DeadLetterConfig=dlq, LoggingConfig=logging)
        config = client.get_function(FunctionName="fn")["Configuration"]
        assert config["DeadLetterConfig"] == dlq and config["LoggingConfig"] == logging
        client.update_function_configuration(FunctionName="fn",
                                             LoggingConfig={**logging, "ApplicationLogLevel": "INFO"})
        updated = client.get_function(FunctionName="fn")["Configuration"]
        assert updated["LoggingConfig"]["ApplicationLogLevel"] == "INFO"


def test_event_source_mapping_reports_the_alias_it_was_created_with():
    import io
    import zipfile

    with Emulator(port=0) as emulator:
        def client(service):
            return boto3.client(service, endpoint_url=emulator.endpoint, region_name="us-west-2",
                                aws_access_key_id="test", aws_secret_access_key="test")

        role = client("iam").create_role(RoleName="esm", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("index.py", "def handler(e, c):\n    return e\n")
        lam = client("lambda")
        lam.create_function(FunctionName="esm", Runtime="python3.11", Role=role, Handler="index.handler",
                            Code={"ZipFile": buffer.getvalue()}, Publish=True)
        alias = lam.create_alias(FunctionName="esm", Name="live", FunctionVersion="1")["AliasArn"]
        table = client("dynamodb").create_table(
            TableName="esm", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        mapping = lam.create_event_source_mapping(EventSourceArn=table["TableDescription"]["LatestStreamArn"],
                                                  FunctionName=alias, StartingPosition="LATEST")
        assert lam.get_event_source_mapping(UUID=mapping["UUID"])["FunctionArn"] == alias
