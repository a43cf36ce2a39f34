"""The operations local mode adds to the emulator answer as AWS does."""

from __future__ import annotations

import json

import pytest

from localmode.emulator import Emulator
from tests.localmode.conftest import Deployment, dummy_zip


@pytest.fixture(scope="module")
def client(deployment: Deployment):
    """boto3 clients of the package's emulator (one per process: moto's state is process-wide)."""
    return deployment.client


@pytest.fixture(scope="module")
def sfn(client):
    return client("stepfunctions")


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


def test_function_keeps_dead_letter_and_logging_config(client):
    role = client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    dlq = {"TargetArn": "arn:aws:sqs:us-west-2:123456789012:dlq"}
    logging = {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "INFO",
               "LogGroup": "/aws/lambda/fn"}
    lam = client("lambda")
    lam.create_function(FunctionName="fn", Runtime="python3.11", Role=role, Handler="index.handler",
                        Code={"ZipFile": dummy_zip()}, DeadLetterConfig=dlq, LoggingConfig=logging)
    config = lam.get_function(FunctionName="fn")["Configuration"]
    assert config["DeadLetterConfig"] == dlq and config["LoggingConfig"] == logging
    lam.update_function_configuration(FunctionName="fn", LoggingConfig={**logging, "ApplicationLogLevel": "INFO"})
    updated = lam.get_function(FunctionName="fn")["Configuration"]
    assert updated["LoggingConfig"]["ApplicationLogLevel"] == "INFO"


def test_a_deleted_version_number_is_never_published_again(client):
    # Given versions 1 to 3, of which the rollout deleted 1 and 3
    role = client("iam").create_role(RoleName="versions", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = client("lambda")
    lam.create_function(FunctionName="versions", Runtime="python3.11", Role=role, Handler="index.handler",
                        Code={"ZipFile": dummy_zip()}, Publish=True)
    for n in (2, 3):
        lam.update_function_configuration(FunctionName="versions", Description=f"change {n}")
        lam.get_waiter("function_updated_v2").wait(FunctionName="versions")
        assert lam.publish_version(FunctionName="versions")["Version"] == str(n)
    for deleted in ("1", "3"):
        lam.delete_function(FunctionName="versions", Qualifier=deleted)
    # When the code changes again, the new version is 4, as in AWS (moto alone would say 2)
    lam.update_function_configuration(FunctionName="versions", Description="change 4")
    lam.get_waiter("function_updated_v2").wait(FunctionName="versions")
    assert lam.publish_version(FunctionName="versions")["Version"] == "4"
    listed = [v["Version"] for v in lam.list_versions_by_function(FunctionName="versions")["Versions"]]
    assert listed == ["$LATEST", "2", "4"]
    assert lam.get_function(FunctionName="versions", Qualifier="4")["Configuration"]["Description"] == "change 4"


def test_event_source_mapping_reports_the_alias_it_was_created_with(client):
    role = client("iam").create_role(RoleName="esm", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = client("lambda")
    lam.create_function(FunctionName="esm", Runtime="python3.11", Role=role, Handler="index.handler",
                        Code={"ZipFile": dummy_zip()}, Publish=True)
    alias = lam.create_alias(FunctionName="esm", Name="live", FunctionVersion="1")["AliasArn"]
    table = client("dynamodb").create_table(
        TableName="esm", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    mapping = lam.create_event_source_mapping(EventSourceArn=table["TableDescription"]["LatestStreamArn"],
                                              FunctionName=alias, StartingPosition="LATEST")
    assert lam.get_event_source_mapping(UUID=mapping["UUID"])["FunctionArn"] == alias


def test_a_second_emulator_in_the_process_is_refused(client):
    client("sqs").create_queue(QueueName="kept")
    with pytest.raises(RuntimeError, match="another emulator is running in this process"):
        Emulator(port=0).start()
    assert client("sqs").get_queue_url(QueueName="kept")["QueueUrl"].endswith("/kept")  # still serving, state kept
