"""Workspace configuration: defaults per workspace and one clear message per bad value."""

from __future__ import annotations

import pytest

from modules.config import LOCAL_DIFFERENCES, WORKSPACES, ConfigError, load_settings, settings_for

BAD_INPUTS = [
    # (environment, field named in the message, what is allowed)
    ({"WORKSPACES": "qa"}, "WORKSPACES", "allowed: local, dev, staging, prod"),
    ({"WORKSPACES": "dev,qa"}, "WORKSPACES", "'qa' is not a workspace"),
    ({"ALERT_EMAILS": "not-an-email"}, "ALERT_EMAILS", "allowed: comma-separated name@domain.tld"),
    ({"ALERT_EMAILS": "ops@example.com,bad@"}, "ALERT_EMAILS", "'bad@' is not an e-mail address"),
    ({"VPC_CIDR": "10.0.0.0/33"}, "VPC_CIDR", "allowed: e.g. 10.0.0.0/16"),
    ({"VPC_CIDR": "not-a-cidr"}, "VPC_CIDR", "is not an IPv4 network"),
    ({"VPC_CIDR": "10.0.0.1/16"}, "VPC_CIDR", "host bits set"),
    ({"VPC_CIDR": "10.0.0.0/8"}, "VPC_CIDR", "allowed: /16 to /24"),
    ({"PROJECT_NAME": "Bad_Name"}, "PROJECT_NAME", "allowed: 3-24 characters"),
    ({"DEPLOY_REGION": "mars-1"}, "DEPLOY_REGION", "allowed: e.g. us-west-2"),
    ({"STATE_BUCKET": "UPPER"}, "STATE_BUCKET", "is not an S3 bucket name"),
    ({"API_DOMAIN_NAME": "api.example.com"}, "API_DOMAIN_NAME/API_CERTIFICATE_ARN", "must be set together"),
    ({"API_DOMAIN_NAME": "api.example.com", "API_CERTIFICATE_ARN": "arn:aws:iam::1:role/x"},
     "API_DOMAIN_NAME/API_CERTIFICATE_ARN", "is not an ACM certificate ARN"),
    ({"EMULATOR_ENDPOINT": "ftp://127.0.0.1"}, "EMULATOR_ENDPOINT", "allowed: http(s)://host[:port]"),
]


@pytest.mark.parametrize(("environ", "field", "allowed"), BAD_INPUTS, ids=[b[1] + ":" + b[2][:20] for b in BAD_INPUTS])
def test_bad_input_is_rejected_with_field_value_and_allowed(environ, field, allowed):
    with pytest.raises(ConfigError) as raised:
        load_settings(environ)
    problems = raised.value.problems
    # One message for the problem, however many workspaces are selected.
    assert len([p for p in problems if p.startswith(field)]) == 1, problems
    assert any(allowed in p for p in problems), problems


def test_value_is_quoted_in_the_message():
    with pytest.raises(ConfigError) as raised:
        load_settings({"VPC_CIDR": "300.1.0.0/16"})
    assert "'300.1.0.0/16'" in str(raised.value)


@pytest.mark.parametrize(("section", "override", "message"), [
    ("app", {"api_function": {"memory_mb": 64}}, "greater than or equal to 128"),
    ("app", {"api_function": {"memory_mb": 20000}}, "less than or equal to 10240"),
    ("app", {"task_function": {"timeout_seconds": 901}}, "less than or equal to 900"),
    ("app", {"task_function": {"timeout_seconds": 0}}, "greater than or equal to 1"),
    ("data", {"billing_mode": "PROVISIONED",
              "read_capacity": {"min_capacity": 50, "max_capacity": 10},
              "write_capacity": {"min_capacity": 5, "max_capacity": 10}}, "min_capacity 50 is above max_capacity 10"),
    ("network", {"az_count": 2, "nat_gateway_count": 3}, "exceeds az_count"),
    ("app", {"schedule_expression": "every day"}, "allowed: rate(N unit) or cron(...)"),
])
def test_bad_workspace_values_name_the_field(section, override, message):
    from modules.config import WorkspaceSettings

    base = settings_for("dev", {}).model_dump()
    base[section] = {**base[section], **override}
    with pytest.raises(ValueError) as raised:
        WorkspaceSettings.model_validate(base)
    assert section in str(raised.value)
    assert message in str(raised.value)


def test_retention_must_be_a_cloudwatch_value():
    from modules.config import WorkspaceSettings

    base = settings_for("dev", {}).model_dump()
    base["log_retention_days"] = 10
    with pytest.raises(ValueError, match="10 is not a CloudWatch Logs retention; allowed: "):
        WorkspaceSettings.model_validate(base)


def test_defaults_differ_per_workspace_as_documented():
    settings = {s.workspace: s for s in load_settings({})}
    assert list(settings) == list(WORKSPACES)
    assert [settings[w].log_retention_days for w in ("dev", "staging", "prod")] == [7, 30, 90]
    assert [settings[w].app.task_function.memory_mb for w in ("dev", "staging", "prod")] == [512, 1024, 2048]
    assert [settings[w].app.task_function.timeout_seconds for w in ("dev", "staging", "prod")] == [30, 60, 90]
    assert settings["prod"].data.billing_mode == "PROVISIONED"
    assert all(settings[w].data.billing_mode == "PAY_PER_REQUEST" for w in ("local", "dev", "staging"))
    assert settings["prod"].network.nat_gateway_count == settings["prod"].network.az_count == 3
    assert settings["dev"].app.log_level == "DEBUG"
    assert all(s.xray_tracing for s in settings.values())


def test_local_is_dev_minus_listed_differences():
    local = settings_for("local", {}).model_dump()
    dev = settings_for("dev", {}).model_dump()
    differing = {k for k in dev if local[k] != dev[k]} - {"workspace", "emulator_endpoint"}
    assert differing == set(LOCAL_DIFFERENCES)
    assert all(reason for _value, reason in LOCAL_DIFFERENCES.values())
    assert local["emulator_endpoint"] == "http://127.0.0.1:4566"


def test_environment_interface():
    (dev,) = load_settings({"WORKSPACES": "dev", "PROJECT_NAME": "shop", "DEPLOY_REGION": "eu-central-1",
                            "ALERT_EMAILS": "a@example.com, b@example.org"})
    assert dev.state_bucket == "shop-tfstate-eu-central-1"
    assert dev.alert_emails == ("a@example.com", "b@example.org")
    assert dev.name("items") == "shop-dev-items"
