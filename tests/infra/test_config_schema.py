"""The generated artefacts of the configuration: config/schema.json and docs/configuration.md
are current, the schema rejects what the models reject, and secrets are refused whether their
name or their model marks them."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
from pydantic import BaseModel, SecretStr

from devtools import config_reference
from modules.config import ConfigError, files, load_settings
from modules.config.file_schema import SCHEMA_FILE, file_schema, rendered
from modules.config.file_schema import main as schema_main

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = jsonschema.Draft4Validator(file_schema())

# Files the models reject, key by key; the schema must reject each too. (Cross-key rules
# and derived checks, e.g. a CIDR's prefix, are beyond what a JSON Schema can say.)
BAD_FILES = [
    "throtle_rate_limit = 3\n",
    "network.vpc = \"10.0.0.0/16\"\n",
    "app.api_function.memory_mb = 20000\n",
    "app.api_function.memory_mb = 64\n",
    "app.task_function.timeout_seconds = \"60\"\n",
    "xray_tracing = \"yes\"\n",
    "network = 5\n",
    "alert_emails = \"ops@example.com\"\n",
    "alert_emails = [\"not-an-email\"]\n",
    "log_retention_days = 10\n",
    "app.log_level = \"LOUD\"\n",
    "data.billing_mode = \"ON_DEMAND\"\n",
    "network.az_count = 4\n",
    "app.function_overrides.nope.memory_mb = 1024\n",
    "app.function_overrides.digest.memory = 1024\n",
    "app.snapstart_functions = [\"nope\"]\n",
    "app.schedule_expression = \"every day\"\n",
    "api.cached_routes.\"GET /health\" = 30\n",
    "api.cached_routes.\"GET /items/{id}\" = 0\n",
    "api.clients = []\n",
    "api.clients = [\"Partner\"]\n",
    "api.clients = [\"a\", \"a\"]\n",
    "api.throttle_rate_limit = 0\n",
    "api.waf_rate_window_seconds = 90\n",
    "api.cache_cluster_size = \"2\"\n",
    "alarms.api_4xx_rate.threshold = 1.5\n",
    "alarms.function_errors.periods = 0\n",
    "rollout.api_function.type = \"Canary10Percent5Min\"\n",
    "rollout.api_function.reason = \"no\"\n",
]
GOOD_FILES = [
    "",
    "alert_emails = [\"oncall@example.com\"]\n",
    "api.clients = [\"default\", \"partner\"]\n",
    "app.function_overrides.digest.memory_mb = 1024\n",
    "api.cached_routes.\"GET /items/{id}\" = 30\napi.throttle_rate_limit = 120.5\n",
    "[alarms.function_errors]\nthreshold = 3\nperiods = 1\n",
]


def models_reject(tmp_path: Path, text: str) -> bool:
    (tmp_path / "dev.toml").write_text(text)
    try:
        load_settings({"WORKSPACES": "dev"}, config_dir=tmp_path)
    except ConfigError:
        return True
    return False


@pytest.mark.parametrize("text", BAD_FILES)
def test_the_schema_rejects_what_the_models_reject(tmp_path, text):
    assert models_reject(tmp_path, text), text
    assert list(VALIDATOR.iter_errors(tomllib.loads(text))), f"the schema accepts {text!r}"


@pytest.mark.parametrize("text", GOOD_FILES)
def test_the_schema_and_the_models_accept_good_files(tmp_path, text):
    assert not models_reject(tmp_path, text)
    assert not list(VALIDATOR.iter_errors(tomllib.loads(text)))


@pytest.mark.parametrize("workspace", files.FILE_WORKSPACES)
def test_each_committed_file_names_the_schema_and_is_valid(workspace):
    text = (ROOT / "config" / f"{workspace}.toml").read_text()
    assert text.splitlines()[0] == "#:schema ./schema.json"  # Taplo's header directive, relative to the file
    assert not list(VALIDATOR.iter_errors(tomllib.loads(text)))


def test_the_schema_is_draft_4_for_taplo():
    jsonschema.Draft4Validator.check_schema(file_schema())
    text = SCHEMA_FILE.read_text()
    assert '"$defs"' not in text and '"propertyNames"' not in text and "null" not in text


def test_the_committed_schema_is_current(tmp_path, monkeypatch, capsys):
    assert SCHEMA_FILE.read_text() == rendered(), "config/schema.json is stale: run `make config-docs`"
    # The --check mode `make config-docs` users run says the same on a stale copy.
    stale = tmp_path / "schema.json"
    stale.write_text(rendered().replace("Retention", "Retension"))
    monkeypatch.setattr("modules.config.file_schema.SCHEMA_FILE", stale)
    assert schema_main(["--check"]) == 1
    assert "out of date; run `make config-docs`" in capsys.readouterr().err


def test_the_configuration_page_is_current(tmp_path, monkeypatch):
    page = config_reference.PAGE.read_text()
    assert config_reference.render(page) == page, "docs/configuration.md is stale: run `make config-docs`"
    stale = tmp_path / "configuration.md"
    stale.write_text(page.replace("| `xray_tracing` | boolean |", "| `xray_tracing` | string |"))
    monkeypatch.setattr(config_reference, "PAGE", stale)
    assert config_reference.main(["--check"]) == 1


def test_the_page_lists_every_key_with_what_it_changes():
    schema = file_schema()
    listed = config_reference.rows(schema, schema)
    keys = [key for key, _leaf in listed]
    assert {"alert_emails", "app.function_overrides.<function>.memory_mb", "api.clients",
            "api.cached_routes.<route>", "alarms.function_errors.periods", "rollout.api_function.type"} <= set(keys)
    assert [key for key, leaf in listed if not leaf.get("description")] == []
    page = config_reference.PAGE.read_text()
    assert all(f"| `{key}` |" in page for key in keys)
    assert "| `log_retention_days` | integer | `7` | `7` | `30` | `90` |" in page


class _WithASecret(BaseModel):
    signing: SecretStr | None = None
    label: str = ""


def test_a_key_the_model_types_as_secret_is_refused_without_its_value():
    table = {"signing": "s3cr3t", "label": "x"}
    (problem,) = files.drop_secrets(table, "config/dev.toml", _WithASecret)
    assert problem.startswith("config/dev.toml: signing: secrets never go in configuration files")
    assert "s3cr3t" not in problem and table == {"label": "x"}


@pytest.mark.parametrize("key", ["api.api_key", "app.function_overrides.digest.token", "db_password",
                                 "alarms.client_secret"])
def test_a_key_named_like_a_secret_is_refused_whatever_its_place(tmp_path, key):
    (tmp_path / "prod.toml").write_text(f'{key} = "s3cr3t"\n')
    with pytest.raises(ConfigError) as raised:
        load_settings({"WORKSPACES": "prod"}, config_dir=tmp_path)
    (problem,) = raised.value.problems
    assert f"prod.toml: {key}: secrets never go in configuration files" in problem
    assert "AWS Secrets Manager" in problem and "s3cr3t" not in problem


def test_the_committed_schema_is_json():
    assert json.loads(SCHEMA_FILE.read_text())["$schema"] == "http://json-schema.org/draft-04/schema#"
