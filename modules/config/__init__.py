"""Workspace configuration, in parts: the schema (`schema`: typed models, each field's
validators beside it), the workspace defaults (`defaults`), the cross-layer rules
(`rules`), the configuration files (`files`) and loading with each value's source
(`loading`). The names other modules import are re-exported here."""

from modules.config.defaults import DEFAULTS, LOCAL_DIFFERENCES
from modules.config.files import CONFIG_DIR
from modules.config.loading import load_settings, resolve, settings_for
from modules.config.rules import ROLLBACK_ALARM_RULES
from modules.config.schema import (
    ALARM_PERIOD_SECONDS,
    DEPLOYMENT_PREFERENCES,
    ENVIRONMENT_VARIABLES,
    LOG_RETENTION_DAYS,
    WORKSPACES,
    AlarmRule,
    AlarmSettings,
    AppSettings,
    CapacitySettings,
    FunctionSizing,
    GatewaySettings,
    WorkspaceConfig,
    WorkspaceSettings,
    bake_minutes,
)
from modules.config_errors import ConfigError

__all__ = [
    "ALARM_PERIOD_SECONDS", "CONFIG_DIR", "DEFAULTS", "DEPLOYMENT_PREFERENCES", "ENVIRONMENT_VARIABLES",
    "LOCAL_DIFFERENCES", "LOG_RETENTION_DAYS", "ROLLBACK_ALARM_RULES", "WORKSPACES", "AlarmRule", "AlarmSettings",
    "AppSettings", "CapacitySettings", "ConfigError", "FunctionSizing", "GatewaySettings", "WorkspaceConfig",
    "WorkspaceSettings", "bake_minutes", "load_settings", "resolve", "settings_for",
]
