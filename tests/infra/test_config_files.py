"""The configuration files (config/<workspace>.toml): what a file sets reaches the stacks,
environment variables win, every kind of bad file is one line naming file and key, and
nothing is written on error."""

from __future__ import annotations

from pathlib import Path

import pytest

import main
from modules.config import ConfigError, files, load_settings, resolve, settings_for
from modules.config.show import main as show_main

EMAIL_FILE = 'alert_emails = ["file@example.com"]\n'


def config_dir(tmp_path: Path, **texts: str) -> Path:
    """A config directory holding one file per keyword (`dev=...` writes dev.toml)."""
    directory = tmp_path / "config"
    directory.mkdir(exist_ok=True)
    for name, text in texts.items():
        (directory / f"{name}.toml").write_text(text)
    return directory


def problems(directory: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ or {}, config_dir=directory)
    return raised.value.problems


# (workspace file, its text, the problem line's start, what the line must also say)
BAD_FILES = [
    ("prod", "app.api_function.memory_mb = 20000\n", "config/prod.toml: app.api_function.memory_mb (value 20000)",
     "out of range; allowed: 128 to 10240"),
    ("staging", "api.throtle_rate_limit = 300\n", "config/staging.toml: api.throtle_rate_limit (value 300)",
     "unknown key; allowed: kind, throttle_burst_limit, throttle_rate_limit,"),
    ("dev", "[app.task_function]\ntimeout_seconds = \"60\"\n",
     "config/dev.toml: app.task_function.timeout_seconds (value '60')", "wrong type; allowed: an integer"),
    ("dev", "network = 5\n", "config/dev.toml: network (value 5)", "wrong type; allowed: a table"),
    ("dev", 'app.log_level = "LOUD"\n', "config/dev.toml: app.log_level (value 'LOUD')",
     "not a known value; allowed: 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
    ("prod", "app.function_overrides.nope.memory_mb = 1024\n", "config/prod.toml: app.function_overrides",
     "function_overrides key 'nope' is not a function; allowed: api,"),
    ("staging", 'rollout.api_function.type = "Canary10Percent5Minutes"\n',
     "config/staging.toml: rollout.api_function.type (value 'Canary10Percent5Minutes')",
     "makes its last shift after 5 min, before its rollback alarm function_errors can fire"),
    ("dev", "api.throttle_rate_limit = 5000\n", "config/dev.toml: api.throttle_rate_limit (value 5000.0)",
     "exceed what the api function runs (50 concurrent x 1000 / 200 ms = 250/s); allowed: rate <= 250"),
    ("staging", 'api.api_key = "abc123"\n', "config/staging.toml: api.api_key: secrets never go in configuration files",
     "add the client's name to api.clients"),
    ("prod", 'project = "shop"\n', "config/prod.toml: project (value 'shop'): not a file setting",
     "set PROJECT_NAME"),
    ("dev", 'data.billing_mode = "PROVISIONED"\ndata.read_capacity.min_capacity = 5\n'
     'data.write_capacity = { min_capacity = 5, max_capacity = 10 }\n',
     "config/dev.toml: data.read_capacity.max_capacity", "missing; allowed: a value"),
    ("dev", "log_retention_days = \n", "config/dev.toml: not valid TOML: Invalid value (at line 1, column 22)",
     "allowed: TOML 1.0"),
]


@pytest.mark.parametrize(("workspace", "text", "start", "said"), BAD_FILES,
                         ids=[b[2].split(": ")[1] for b in BAD_FILES])
def test_each_kind_of_bad_file_is_one_line_naming_file_key_value_and_allowed(tmp_path, workspace, text, start,
                                                                             said, monkeypatch):
    monkeypatch.setattr(files, "ROOT", tmp_path)  # file names relative to the checkout: config/<ws>.toml
    (problem,) = problems(config_dir(tmp_path, **{workspace: text}))
    assert problem.startswith(start), problem
    assert said in problem, problem
    assert "\n" not in problem and "Input should be" not in problem
    assert "abc123" not in problem  # a secret's value is never printed


def test_all_problems_of_all_files_are_reported_at_once(tmp_path):
    directory = config_dir(tmp_path, dev="app.log_level = \"LOUD\"\n", staging="api.throtle_rate_limit = 1\n",
                           prod="app.api_function.memory_mb = 64\nnetwork.az_count = 9\n", qa="")
    found = problems(directory)
    assert len(found) == 5, found
    assert [p.split(": ")[0].rsplit("/", 1)[-1] for p in found] == [
        "qa.toml", "dev.toml", "staging.toml", "prod.toml", "prod.toml"]
    assert "qa.toml: not a workspace; allowed: dev.toml, staging.toml, prod.toml" in found[0]


def test_local_has_no_file_of_its_own(tmp_path):
    (problem,) = problems(config_dir(tmp_path, local="xray_tracing = false\n"))
    assert problem.endswith("local.toml: local takes config/dev.toml with LOCAL_DIFFERENCES applied; allowed: "
                            "dev.toml, staging.toml, prod.toml")


def test_local_takes_the_dev_file_but_keeps_its_differences(tmp_path):
    directory = config_dir(tmp_path, dev="app.log_level = \"WARNING\"\nnetwork.enabled = true\n")
    local, dev = (settings_for(w, {}, config_dir=directory) for w in ("local", "dev"))
    assert local.app.log_level == dev.app.log_level == "WARNING"
    assert (local.network.enabled, dev.network.enabled) == (False, True)


def test_main_exits_2_and_writes_nothing_on_a_bad_file(tmp_path, monkeypatch, capsys):
    # Given a bad prod file, when main.py starts
    monkeypatch.setattr(files, "CONFIG_DIR", config_dir(tmp_path, prod="app.api_function.memory_mb = 20000\n"))
    outdir = tmp_path / "out"
    monkeypatch.setattr("os.environ", {"CDKTF_OUTDIR": str(outdir)})
    # Then it exits 2 naming the file and key, and writes no synth output
    assert main.main(["--force"]) == 2
    assert "prod.toml: app.api_function.memory_mb (value 20000): out of range" in capsys.readouterr().err
    assert not outdir.exists()


def test_environment_variables_win_over_the_file(tmp_path):
    directory = config_dir(tmp_path, prod=EMAIL_FILE + 'api.kind = "http"\n')
    from_file = settings_for("prod", {}, config_dir=directory)
    from_both = settings_for("prod", {"ALERT_EMAILS": "env@example.com", "API_KIND": "rest"}, config_dir=directory)
    assert (from_file.alert_emails, from_file.api.kind) == (("file@example.com",), "http")
    assert (from_both.alert_emails, from_both.api.kind) == (("env@example.com",), "rest")


def test_make_config_shows_each_value_with_its_source(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(files, "CONFIG_DIR", config_dir(tmp_path, prod=EMAIL_FILE + "app.task_function.memory_mb "
                                                        "= 4096\n"))
    monkeypatch.setattr(files, "ROOT", tmp_path)
    assert show_main(["prod"], {"ALERT_EMAILS": "env@example.com", "VPC_CIDR": "10.9.0.0/16"}) == 0
    shown = {line.split(" = ")[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert shown["alert_emails"].split() == ["alert_emails", "=", '["env@example.com"]', "#", "ALERT_EMAILS"]
    assert shown["app.task_function.memory_mb"].split() == ["app.task_function.memory_mb", "=", "4096", "#",
                                                            "config/prod.toml"]
    assert shown["network.vpc_cidr"].split()[-1] == "VPC_CIDR"
    assert shown["log_retention_days"].split()[2:] == ["90", "#", "default"]
    assert "workspace" not in shown


def test_make_config_shows_local_differences_and_exits_2_on_a_bad_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(files, "CONFIG_DIR", config_dir(tmp_path))
    assert show_main(["local"], {}) == 0
    shown = {line.split(" = ")[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert shown["network.enabled"][2:] == ["false", "#", "LOCAL_DIFFERENCES"]
    assert shown["emulator_endpoint"][2:] == ['"http://127.0.0.1:4566"', "#", "default"]
    resolved = resolve("local", {}, config_dir=files.CONFIG_DIR)
    assert resolved.source_of(("network", "enabled")) == "LOCAL_DIFFERENCES"
    assert resolved.source_of(("app", "log_level")) == "default"
    config_dir(tmp_path, dev="xray_tracing = 1\n")
    assert show_main(["dev"], {}) == 2
    assert "dev.toml: xray_tracing (value 1): wrong type; allowed: true or false" in capsys.readouterr().err


def test_a_value_set_in_a_file_reaches_the_stacks_and_a_variable_wins(tmp_path):
    """One synth of dev from a file that raises a function's memory, adds an API client and
    an alert address, with ALERT_EMAILS set: the file's memory and client are in the stacks,
    the variable's address replaces the file's."""
    from modules.app_builder import build_app
    from tests.infra.synthesized import Synthesized

    directory = config_dir(tmp_path, dev=EMAIL_FILE + "app.function_overrides.digest.memory_mb = 1024\n"
                                         'api.clients = ["default", "partner"]\n')
    settings = load_settings({"WORKSPACES": "dev", "ALERT_EMAILS": "env@example.com"}, config_dir=directory)
    build_app(settings, outdir=str(tmp_path / "out")).synth()
    synth = Synthesized(tmp_path / "out")
    functions = {f["function_name"].rsplit("-", 1)[-1]: f for f in synth.resources("dev-app", "aws_lambda_function")
                 .values()}
    assert functions["digest"]["memory_size"] == 1024
    assert {name: f["memory_size"] for name, f in functions.items() if name != "digest"} == {
        name: 512 for name in functions if name != "digest"}
    assert synth.count("dev-app", "aws_api_gateway_api_key") == 2
    subscriptions = synth.resources("dev-observability", "aws_sns_topic_subscription").values()
    assert [s["endpoint"] for s in subscriptions] == ["env@example.com"]


def test_the_diagram_synthesizes_with_the_files(tmp_path, monkeypatch):
    """`make diagram` draws what the files configure (here: prod without its network layer)."""
    import modules.app_builder
    from devtools import diagram

    built = []

    class NoSynth:
        def synth(self) -> None:
            pass

    monkeypatch.setattr(modules.app_builder, "build_app", lambda settings, outdir: built.append(settings) or NoSynth())
    monkeypatch.setattr(files, "CONFIG_DIR", config_dir(tmp_path, prod="network.enabled = false\n"))
    diagram.synthesize(tmp_path / "out", "prod")
    [[prod]] = built
    assert (prod.workspace, prod.network.enabled) == ("prod", False)


def test_a_custom_domain_from_a_file_is_reported_under_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "ROOT", tmp_path)
    (problem,) = problems(config_dir(tmp_path, prod='api.domain_name = "api.example.com"\n'))
    assert problem == ("config/prod.toml: api: domain_name ('api.example.com') and certificate_arn (not set) must "
                       "be set together; allowed: both set or neither")
