"""SnapStart where configured (the api function in staging and prod), nowhere else; and only
on runtimes that support it."""

from __future__ import annotations

import pytest

from modules.catalog import FUNCTIONS
from modules.config import WORKSPACES, ConfigError, settings_for
from tests.infra.synthesized import fn

SNAPSTART = {"local": set(), "dev": set(), "staging": {"api"}, "prod": {"api"}}


@pytest.mark.parametrize("workspace", WORKSPACES)
def test_snapstart_on_published_versions_where_configured(synth, workspace):
    for spec in FUNCTIONS:
        function = fn(synth, workspace, spec.name)
        if spec.name in SNAPSTART[workspace]:
            assert function["snap_start"] == {"apply_on": "PublishedVersions"}, spec.name
            assert function["publish"] is True  # snapshots are taken of published versions only
            assert function["runtime"] >= "python3.12"
        else:
            assert "snap_start" not in function, f"{workspace}/{spec.name}"


def test_snapstart_is_switchable_per_workspace():
    assert settings_for("dev", {}, {"app": {"snapstart_functions": ["api"]}}).app.snapstart_functions == ("api",)
    assert settings_for("prod", {}, {"app": {"snapstart_functions": []}}).app.snapstart_functions == ()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"app": {"lambda_runtime": "python3.11"}},
     "snapstart_functions ['api'] with lambda_runtime python3.11; allowed: SnapStart only with python3.12"),
    ({"app": {"snapstart_functions": ["apii"]}},
     "snapstart_functions entry 'apii' is not a function; allowed: api, validate"),
])
def test_snapstart_configuration_errors_name_the_problem(overrides, message):
    with pytest.raises(ConfigError) as raised:
        settings_for("prod", {}, overrides)
    assert message in str(raised.value)
