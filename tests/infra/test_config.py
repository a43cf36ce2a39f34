"""Workspace configuration: defaults per workspace and one clear message per bad value."""

from __future__ import annotations

import pytest

from modules import config
from modules.config import LOCAL_DIFFERENCES, WORKSPACES, ConfigError, load_settings, settings_for

BAD_INPUTS = [
    # (environment, field named in the message, the given value as shown, what is allowed)
    ({"WORKSPACES": "qa"}, "WORKSPACES", "'qa'", "allowed: local, dev, staging, prod"),
    ({"WORKSPACES": "dev,qa"}, "WORKSPACES", "'qa'", "allowed: local, dev, staging, prod"),
    ({"ALERT_EMAILS": "not-an-email"}, "ALERT_EMAILS", "'not-an-email'", "allowed: comma-separated name@domain.tld"),
    ({"ALERT_EMAILS": "ops@example.com,bad@"}, "ALERT_EMAILS", "'bad@'", "allowed: comma-separated name@domain.tld"),
    ({"VPC_CIDR": "10.0.0.0/33"}, "VPC_CIDR", "'10.0.0.0/33'", "allowed: e.g. 10.0.0.0/16, prefix /16 to /24"),
    ({"VPC_CIDR": "not-a-cidr"}, "VPC_CIDR", "'not-a-cidr'", "allowed: e.g. 10.0.0.0/16, prefix /16 to /24"),
    ({"VPC_CIDR": "10.0.0.1/16"}, "VPC_CIDR", "'10.0.0.1/16'", "allowed: e.g. 10.0.0.0/16, prefix /16 to /24"),
    ({"VPC_CIDR": "10.0.0.0/8"}, "VPC_CIDR", "'10.0.0.0/8'", "allowed: /16 to /24"),
    ({"PROJECT_NAME": "Bad_Name"}, "PROJECT_NAME", "'Bad_Name'", "allowed: 3-24 characters"),
    ({"DEPLOY_REGION": "mars-1"}, "DEPLOY_REGION", "'mars-1'", "allowed: e.g. us-west-2"),
    ({"DEPLOY_REGION": "US-WEST-2"}, "DEPLOY_REGION", "'US-WEST-2'", "allowed: e.g. us-west-2"),
    ({"STATE_BUCKET": "UPPER"}, "STATE_BUCKET", "'UPPER'", "allowed: 3-63 lowercase letters"),
    ({"API_DOMAIN_NAME": "api.example.com"}, "API_DOMAIN_NAME/API_CERTIFICATE_ARN", "'api.example.com'",
     "allowed: both set or neither"),
    ({"API_CERTIFICATE_ARN": "arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"},
     "API_DOMAIN_NAME/API_CERTIFICATE_ARN",
     "'arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012'",
     "allowed: both set or neither"),
    ({"API_DOMAIN_NAME": "api.example.com", "API_CERTIFICATE_ARN": "arn:aws:iam::1:role/x"},
     "API_DOMAIN_NAME/API_CERTIFICATE_ARN", "'arn:aws:iam::1:role/x'",
     "allowed: arn:aws:acm:<region>:<account>:certificate/<uuid>"),
    ({"API_DOMAIN_NAME": "not a domain",
      "API_CERTIFICATE_ARN": "arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"},
     "API_DOMAIN_NAME/API_CERTIFICATE_ARN", "'not a domain'", "allowed: e.g. api.example.com"),
    ({"EMULATOR_ENDPOINT": "ftp://127.0.0.1"}, "EMULATOR_ENDPOINT", "'ftp://127.0.0.1'",
     "allowed: http(s)://host[:port]"),
    ({"API_KIND": "grpc"}, "API_KIND", "'grpc'", "allowed: 'rest' or 'http'"),
]


@pytest.mark.parametrize(("environ", "field", "value", "allowed"), BAD_INPUTS,
                         ids=[f"{b[1]}={b[2][:30]}" for b in BAD_INPUTS])
def test_bad_input_is_rejected_with_field_value_and_allowed(environ, field, value, allowed):
    with pytest.raises(ConfigError) as raised:
        load_settings(environ)
    # Exactly one message, however many workspaces are selected, and it names the
    # field, shows the given value and says what is allowed.
    (problem,) = raised.value.problems
    assert problem.startswith(field), problem
    assert value in problem, problem
    assert allowed in problem, problem
    assert problem in str(raised.value)


def test_bad_inputs_are_many_and_distinct():
    assert len({(tuple(sorted(e.items()))) for e, *_ in BAD_INPUTS}) == len(BAD_INPUTS) >= 12
    assert {field for _e, field, *_ in BAD_INPUTS} >= {
        "WORKSPACES", "ALERT_EMAILS", "VPC_CIDR", "PROJECT_NAME", "DEPLOY_REGION", "STATE_BUCKET",
        "API_DOMAIN_NAME/API_CERTIFICATE_ARN", "EMULATOR_ENDPOINT", "API_KIND"}


@pytest.mark.parametrize("environ", [{"PROJECT_NAME": "Bad_Name"}, {"PROJECT_NAME": "x" * 40},
                                     {"DEPLOY_REGION": "US-WEST-2"}])
def test_derived_state_bucket_is_not_blamed_for_a_bad_project_or_region(environ):
    """The state bucket's default is built from PROJECT_NAME and DEPLOY_REGION: a bad one
    of those is reported once, and nothing mentions STATE_BUCKET, which nobody set."""
    with pytest.raises(ConfigError) as raised:
        load_settings(environ)
    assert len(raised.value.problems) == 1
    assert "STATE_BUCKET" not in str(raised.value)


def test_an_explicit_bad_state_bucket_is_still_reported_next_to_a_bad_project():
    with pytest.raises(ConfigError) as raised:
        load_settings({"PROJECT_NAME": "Bad_Name", "STATE_BUCKET": "Also_Bad"})
    assert [p.split(" ", 1)[0] for p in raised.value.problems] == ["PROJECT_NAME", "STATE_BUCKET"]


# Workspace settings that are not environment variables, checked through the same path
# main.py uses: settings_for() raising ConfigError with the user-facing message.
BAD_WORKSPACE_VALUES = [
    ({"app": {"api_function": {"memory_mb": 64}}}, "dev: app.api_function.memory_mb", "(value 64)",
     "allowed: 128 to 10240"),
    ({"app": {"api_function": {"memory_mb": 20000}}}, "dev: app.api_function.memory_mb", "(value 20000)",
     "allowed: 128 to 10240"),
    ({"app": {"task_function": {"timeout_seconds": 901}}}, "dev: app.task_function.timeout_seconds",
     "(value 901)", "allowed: 1 to 900"),
    ({"app": {"task_function": {"timeout_seconds": 0}}}, "dev: app.task_function.timeout_seconds", "(value 0)",
     "allowed: 1 to 900"),
    ({"data": {"billing_mode": "PROVISIONED", "read_capacity": {"min_capacity": 50, "max_capacity": 10},
               "write_capacity": {"min_capacity": 5, "max_capacity": 10}}},
     "dev: data.read_capacity", "min_capacity 50 is above max_capacity 10", "allowed: min_capacity <= max_capacity"),
    ({"network": {"az_count": 2, "nat_gateway_count": 3}}, "dev: network",
     "nat_gateway_count 3 exceeds az_count 2", "allowed: 0, 1 or one per AZ"),
    ({"network": {"az_count": 4}}, "dev: network.az_count", "(value 4)", "allowed: 2 to 3"),
    ({"app": {"schedule_expression": "every day"}}, "dev: app.schedule_expression", "'every day'",
     "allowed: rate(N unit) or cron(...)"),
    ({"log_retention_days": 10}, "dev: log_retention_days", "(value 10)",
     "allowed: (1, 3, 5, 7, 14, 30, 60, 90, "),
    ({"data": {"billing_mode": "PROVISIONED"}}, "dev: data", "billing_mode PROVISIONED needs read_capacity",
     "allowed: PROVISIONED with both"),
    ({"kms_deletion_window_days": 3}, "dev: kms_deletion_window_days", "(value 3)", "allowed: 7 to 30"),
    ({"rollout": {"api_function": {"type": "Canary10Percent5Min", "reason": "faster feedback in dev"}}},
     "dev: rollout.api_function.type", "'Canary10Percent5Min'",
     "allowed: AllAtOnce, Canary10Percent5Minutes, Canary10Percent10Minutes"),
    ({"rollout": {"task_function": {"type": "Linear10PercentEvery1Minute", "reason": "faster feedback in dev"}}},
     "dev: rollout.task_function.type", "(value 'Linear10PercentEvery1Minute'): makes its last shift after 9 min",
     "allowed: AllAtOnce or one of Canary10Percent15Minutes, Canary10Percent30Minutes, "
     "Linear10PercentEvery2Minutes"),
    ({"rollout": {"api_function": {"type": "AllAtOnce", "reason": "no"}}}, "dev: rollout.api_function.reason",
     "'no'", "allowed: at least 10 characters"),
]


@pytest.mark.parametrize(("overrides", "field", "value", "allowed"), BAD_WORKSPACE_VALUES,
                         ids=[b[1].split(": ")[1] + ":" + b[2][:20] for b in BAD_WORKSPACE_VALUES])
def test_bad_workspace_values_give_the_user_facing_message(overrides, field, value, allowed):
    with pytest.raises(ConfigError) as raised:
        settings_for("dev", {}, overrides)
    (problem,) = raised.value.problems
    assert problem.startswith(field), problem
    assert value in problem, problem
    assert allowed in problem, problem
    assert "Input should be" not in problem  # pydantic's own wording is rephrased


def test_main_reports_a_bad_workspace_default_with_the_same_message(capsys, monkeypatch):
    import main
    from modules.config import defaults

    # Given a workspace default out of range (as an edit of defaults.py would make it)
    bad = defaults.DEFAULTS["dev"].model_construct(**{**dict(defaults.DEFAULTS["dev"]), "log_retention_days": 10})
    monkeypatch.setitem(defaults.DEFAULTS, "dev", bad)
    monkeypatch.setattr("os.environ", {"WORKSPACES": "dev"})
    # When main.py starts, then it exits 2 with the user-facing message
    assert main.main() == 2
    assert "dev: log_retention_days (value 10): 10 is not a CloudWatch Logs retention; allowed: " in (
        capsys.readouterr().err)


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
    assert [settings[w].rollout.api_function.type for w in WORKSPACES] == [
        "AllAtOnce", "AllAtOnce", "Canary10Percent15Minutes", "Canary10Percent15Minutes"]
    assert [settings[w].rollout.task_function.config_name for w in ("dev", "prod")] == [
        "CodeDeployDefault.LambdaAllAtOnce", "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes"]


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


# --- valid overrides take effect ------------------------------------------------------------

def test_state_bucket_override_reaches_every_workspace():
    settings = load_settings({"STATE_BUCKET": "acme-terraform-state"})
    assert [s.state_bucket for s in settings] == ["acme-terraform-state"] * len(WORKSPACES)


def test_emulator_endpoint_override_reaches_only_local():
    settings = {s.workspace: s for s in load_settings({"EMULATOR_ENDPOINT": "http://localhost:5000"})}
    assert settings["local"].emulator_endpoint == "http://localhost:5000"
    assert all(settings[w].emulator_endpoint is None for w in ("dev", "staging", "prod"))


def test_vpc_cidr_override_reaches_every_selected_workspace():
    settings = load_settings({"VPC_CIDR": "172.16.0.0/20", "WORKSPACES": "dev,prod"})
    assert [s.network.vpc_cidr for s in settings] == ["172.16.0.0/20", "172.16.0.0/20"]
    assert [s.network.az_count for s in settings] == [2, 3]  # the rest of the network stays per workspace


def test_workspaces_narrow_the_selection_in_the_given_order_without_duplicates():
    assert [s.workspace for s in load_settings({"WORKSPACES": "dev,prod"})] == ["dev", "prod"]
    assert [s.workspace for s in load_settings({"WORKSPACES": " prod , dev,prod "})] == ["prod", "dev"]
    assert [s.workspace for s in load_settings({"WORKSPACES": ""})] == list(WORKSPACES)


def test_empty_variables_mean_the_default():
    (dev,) = load_settings({"WORKSPACES": "dev", "PROJECT_NAME": "", "DEPLOY_REGION": "", "STATE_BUCKET": ""})
    assert (dev.project, dev.region, dev.state_bucket) == ("serverless-app", "us-west-2",
                                                           "serverless-app-tfstate-us-west-2")


def test_every_documented_variable_is_read():
    """ENVIRONMENT_VARIABLES is the list tests strip from a user's environment: each
    entry must change the configuration, so the list cannot drift from the code."""
    base = [s.model_dump() for s in load_settings({})]
    changed = {
        "WORKSPACES": "dev", "PROJECT_NAME": "shop", "DEPLOY_REGION": "eu-west-1", "STATE_BUCKET": "other-bucket",
        "ALERT_EMAILS": "a@example.com", "API_DOMAIN_NAME": "api.example.com",
        "API_CERTIFICATE_ARN": "arn:aws:acm:us-west-2:123456789012:certificate/12345678-1234-1234-1234-123456789012",
        "EMULATOR_ENDPOINT": "http://127.0.0.1:9", "VPC_CIDR": "10.9.0.0/16", "API_KIND": "http",
        "GITHUB_REPOSITORY": "example-org/shop",
    }
    assert set(changed) == set(config.ENVIRONMENT_VARIABLES)
    for variable, value in changed.items():
        environ = {variable: value}
        if variable.startswith("API_") and variable != "API_KIND":
            environ = {k: changed[k] for k in ("API_DOMAIN_NAME", "API_CERTIFICATE_ARN")}
        assert [s.model_dump() for s in load_settings(environ)] != base, variable
