"""Builds the cdktf App: `bootstrap` plus `<workspace>-<layer>` stacks in dependency order."""

from __future__ import annotations

from cdktf import App

from modules.app import AppStack
from modules.bootstrap import BootstrapStack
from modules.config import WorkspaceSettings
from modules.data import DataStack
from modules.network import NetworkStack
from modules.observability import ObservabilityStack
from modules.security import SecurityStack


def build_workspace(app: App, settings: WorkspaceSettings) -> None:
    """All layer stacks of one workspace; cross-stack values flow as cdktf references."""
    security = SecurityStack(app, settings)
    kms_key_arn = security.security.key.arn
    network = NetworkStack(app, settings, kms_key_arn).network if settings.network.enabled else None
    data = DataStack(app, settings, kms_key_arn).data
    application = AppStack(app, settings, kms_key_arn, data, network).app
    ObservabilityStack(app, settings, kms_key_arn, data, application)


def build_app(workspaces: list[WorkspaceSettings], outdir: str | None = None) -> App:
    """The App for the given workspaces. `bootstrap` is built from the first one's
    account-level values (project, region, state bucket)."""
    app = App(outdir=outdir, skip_validation=False) if outdir else App()
    real = [s for s in workspaces if s.emulator_endpoint is None]
    BootstrapStack(app, (real or workspaces)[0])
    for settings in workspaces:
        build_workspace(app, settings)
    return app
