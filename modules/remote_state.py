"""Where each layer's Terraform state lives and what a stack is called.

Import-light on purpose (no provider bindings): tools that read a workspace's state or name
its stacks (the hotswap, the plan review) use these without paying for cdktf's import.
"""

from __future__ import annotations

from modules.config import WorkspaceSettings


def state_kms_alias(settings: WorkspaceSettings) -> str:
    """The bootstrap state key's alias, which every remote backend encrypts state with.

    A backend block cannot refer to resources and the account id is unknown at synth time,
    so the key is named by alias: Terraform's S3 backend accepts a key ID, key ARN, alias
    name or alias ARN in `kms_key_id` (internal/backend/remote-state/s3/validate.go) and
    sends it as `x-amz-server-side-encryption-aws-kms-key-id`, which S3 PutObject accepts
    as "Key ID, Key ARN, or Key Alias"; an alias resolves in the caller's account, which
    is the state bucket's (the bootstrap runs there)."""
    return f"alias/{settings.project}-tfstate"


def state_key(settings: WorkspaceSettings, layer: str) -> str:
    """Remote state key of one layer: `{project}/{workspace}/{layer}.tfstate`."""
    return f"{settings.project}/{settings.workspace}/{layer}.tfstate"


def local_state_path(layer: str) -> str:
    """State file of a stack with local state (`bootstrap`), relative to its stack
    directory `<outdir>/stacks/<stack>/`, where Terraform runs: `<outdir>/../state/`.
    That keeps it out of the synth output (which `make clean` deletes; `*.tfstate*` is
    git-ignored) and deterministic: `cdktf.out/` -> `state/` in the repository; local mode's
    `.local/cdktf.out/` -> `.local/state/`, so the emulator's state bucket never
    shares a state file with a real account's."""
    return f"../../../state/{layer}.tfstate"


def stack_name(settings: WorkspaceSettings, layer: str) -> str:
    """Stack (and synthesized directory) name: `<workspace>-<layer>`."""
    return f"{settings.workspace}-{layer}"
