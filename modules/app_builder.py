"""Builds the cdktf App: `bootstrap` plus `<workspace>-<layer>` stacks in dependency order."""

from __future__ import annotations

from pathlib import Path

from cdktf import App

from modules.app import AppStack
from modules.base_stack import LayerStack
from modules.bootstrap import BootstrapStack
from modules.catalog import FUNCTIONS, FunctionSpec
from modules.ci import CI_WORKSPACES, CiStack
from modules.config import WorkspaceSettings
from modules.data import DataStack
from modules.network import NetworkStack
from modules.observability import ObservabilityStack
from modules.packaging import ROOT, package_workspace
from modules.security import SecurityStack


def build_workspace(app: App, settings: WorkspaceSettings, functions: tuple[FunctionSpec, ...] = FUNCTIONS,
                    source_root: Path = ROOT) -> None:
    """All layer stacks of one workspace; each layer reads the small typed outputs of the
    layers before it, and cdktf turns them into cross-stack references. `source_root`: where
    the function zips' `handlers/` are read from (another checkout of the code)."""
    kms_key_arn = SecurityStack(app, settings).outputs.kms_key_arn
    network = NetworkStack(app, settings, kms_key_arn).outputs if settings.network.enabled else None
    data = DataStack(app, settings, kms_key_arn, functions).outputs
    artifacts = package_workspace(settings.app.lambda_architecture, settings.app.lambda_runtime, functions,
                                  source_root=source_root)
    application = AppStack(app, settings, kms_key_arn, data, network, artifacts, functions=functions).outputs
    ObservabilityStack(app, settings, kms_key_arn, data, application, functions)


def build_app(workspaces: list[WorkspaceSettings], outdir: str | None = None,
              functions: tuple[FunctionSpec, ...] = FUNCTIONS, source_root: Path = ROOT) -> App:
    """The App for the given workspaces and functions (the catalog by default). `bootstrap`
    is built from the first one's account-level values (project, region, state bucket); so
    is `ci`, when GITHUB_REPOSITORY is set and every AWS workspace is synthesized (its roles
    follow those stacks: a partial synth would deploy a `ci` that drops the other roles)."""
    app = App(outdir=outdir, skip_validation=False) if outdir else App()
    real = [s for s in workspaces if s.emulator_endpoint is None]
    BootstrapStack(app, (real or workspaces)[0])
    for settings in workspaces:
        build_workspace(app, settings, functions, source_root)
    if real and real[0].github_repository and {s.workspace for s in real} >= set(CI_WORKSPACES):
        stacks: dict[str, list[LayerStack]] = {w: [] for w in CI_WORKSPACES}
        for child in app.node.children:
            if isinstance(child, LayerStack) and child.settings.workspace in stacks and child.layer != "bootstrap":
                stacks[child.settings.workspace].append(child)
        CiStack(app, real[0], real[0].github_repository, stacks)
    return app
