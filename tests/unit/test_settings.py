"""Environment settings: validated at cold start, errors name the variable."""

from __future__ import annotations

import pytest

from handlers.shared.settings import (
    ApiEnvironment,
    ConfigurationError,
    DigestEnvironment,
    StreamConsumerEnvironment,
    ValidateTaskEnvironment,
    environment_names,
    load_settings,
)

BASE = {"POWERTOOLS_SERVICE_NAME": "api", "POWERTOOLS_METRICS_NAMESPACE": "App"}
API = {
    **BASE,
    "TABLE_NAME": "app-dev-items",
    "IDEMPOTENCY_TABLE_NAME": "app-dev-idempotency",
    "STATE_MACHINE_ARN": "arn:aws:states:us-west-2:123456789012:stateMachine:app-dev-jobs",
}


def test_api_settings_load_from_the_environment_names() -> None:
    settings = load_settings(ApiEnvironment, API)

    assert settings.table_name == "app-dev-items"
    assert settings.idempotency_table_name == "app-dev-idempotency"
    assert settings.state_machine_arn.endswith(":stateMachine:app-dev-jobs")
    assert settings.allowed_origins == ()
    assert settings.log_level == "INFO"


def test_each_function_requires_only_what_it_uses() -> None:
    assert set(environment_names(ValidateTaskEnvironment)) == {
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "POWERTOOLS_LOG_LEVEL",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE",  # read by Powertools' Tracer: off in staging and prod
    }
    assert "TABLE_NAME" not in environment_names(StreamConsumerEnvironment)
    assert {"TABLE_NAME", "EVENTS_TOPIC_ARN"} <= set(environment_names(DigestEnvironment))
    assert "STATE_MACHINE_ARN" not in environment_names(DigestEnvironment)


@pytest.mark.parametrize("missing", ["TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "STATE_MACHINE_ARN"])
def test_a_missing_variable_is_named(missing: str) -> None:
    environ = {key: value for key, value in API.items() if key != missing}

    with pytest.raises(ConfigurationError) as caught:
        load_settings(ApiEnvironment, environ)

    assert f"{missing} is required but not set" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TABLE_NAME", "no spaces allowed"),
        ("STATE_MACHINE_ARN", "arn:aws:sns:us-west-2:123456789012:not-a-state-machine"),
        ("POWERTOOLS_LOG_LEVEL", "LOUD"),
        ("ALLOWED_ORIGINS", "https://app.example.com/path"),
        ("ALLOWED_ORIGINS", "*,https://app.example.com"),
    ],
)
def test_an_invalid_variable_is_named(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(ApiEnvironment, {**API, name: value})

    assert f"{name} is invalid" in str(caught.value)


def test_topic_arn_is_checked_for_functions_that_publish() -> None:
    with pytest.raises(ConfigurationError, match="EVENTS_TOPIC_ARN is invalid"):
        load_settings(StreamConsumerEnvironment, {**BASE, "EVENTS_TOPIC_ARN": "my-topic"})


def test_allowed_origins_are_split_and_trimmed() -> None:
    settings = load_settings(
        ApiEnvironment, {**API, "ALLOWED_ORIGINS": " https://a.example.com, http://localhost:3000 ,"}
    )

    assert settings.allowed_origins == ("https://a.example.com", "http://localhost:3000")


def test_log_level_is_case_insensitive() -> None:
    assert load_settings(ApiEnvironment, {**API, "POWERTOOLS_LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(ApiEnvironment, BASE)

    message = str(caught.value)
    assert all(name in message for name in ("TABLE_NAME", "IDEMPOTENCY_TABLE_NAME", "STATE_MACHINE_ARN"))
