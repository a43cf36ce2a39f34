"""`make watch`: handler edits live in seconds, without a deployment (local and dev only).

Watches `handlers/`; on a change it rebuilds every function zip with the synth's own packaging
(`modules.packaging`: same bytes as a synth would upload) and, for each function whose zip
changed, uploads it to the workspace's code bucket under the same content-addressed key,
updates the function's code, publishes a version and moves `live` through the same CodeDeploy
rollout as a deploy (`delivery.rollout`: pre-traffic hook, rollback). The hook has no
deployment group: Terraform moves its alias, so a changed hook gets its alias moved here.

Terraform's state then differs for those functions (their S3 key and code hash): the next
deploy (`make redeploy-local`, `cdktf deploy`) reconciles it as an in-place update of the
function, never a replacement. Staging and prod are refused: their code changes only through
the reviewed pipeline.

    python -m delivery.hotswap local            # watch until Ctrl-C
    python -m delivery.hotswap dev --once       # one pass: push what differs from the deployed code
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from delivery import rollout
from handlers.shared.constants import LIVE_ALIAS
from modules.bytecode import compiler_for
from modules.catalog import FUNCTIONS, FunctionSpec
from modules.config import ConfigError, WorkspaceSettings, settings_for
from modules.packaging import ROOT, Artifact, build_functions
from modules.remote_state import state_key
from modules.rollout import hook_function

HOTSWAP_WORKSPACES = ("local", "dev")
WAKE_MS = 200  # the watcher's first yield comes this long after it is set up (then one per idle period)
EXIT_OK, EXIT_ROLLED_BACK, EXIT_ERROR = rollout.EXIT_OK, rollout.EXIT_ROLLED_BACK, rollout.EXIT_ERROR


class HotswapError(RuntimeError):
    """The hotswap cannot run; the message says what and what to do."""


@dataclass(frozen=True)
class Target:
    """Where the workspace's code lives: its code bucket and the key uploads are encrypted with."""

    code_bucket: str
    kms_key_arn: str


def _clients(settings: WorkspaceSettings) -> dict[str, Any]:
    return {service: rollout.client(settings, service) for service in ("s3", "lambda")}


def _state_outputs(s3: Any, settings: WorkspaceSettings, layer: str) -> dict[str, Any]:
    try:
        body = s3.get_object(Bucket=settings.state_bucket, Key=state_key(settings, layer))["Body"].read()
    except (ClientError, BotoCoreError) as err:
        raise HotswapError(f"cannot read the {settings.workspace}-{layer} state from s3://{settings.state_bucket} "
                           f"({err}): deploy the workspace first (make up, or cdktf deploy)") from None
    return {name: output["value"] for name, output in json.loads(body).get("outputs", {}).items()}


def deployed_target(s3: Any, settings: WorkspaceSettings) -> Target:
    """The code bucket and the workspace key, from the data and security layers' state."""
    return Target(code_bucket=_state_outputs(s3, settings, "data")["code_bucket_name"],
                  kms_key_arn=_state_outputs(s3, settings, "security")["kms_key_arn"])


def build_all(settings: WorkspaceSettings, build_dir: Path, source_root: Path = ROOT,
              functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> dict[str, Artifact]:
    return build_functions(compiler_for(settings.app.lambda_runtime), functions, build_dir, source_root)


def deployed_hashes(lambda_client: Any, settings: WorkspaceSettings,
                    functions: Iterable[FunctionSpec]) -> dict[str, str]:
    """Function -> CodeSha256 of the version `live` runs (base64, as Artifact.sha256_b64)."""
    found = {}
    for spec in functions:
        config = lambda_client.get_function_configuration(FunctionName=settings.name(spec.name), Qualifier=LIVE_ALIAS)
        found[spec.name] = config["CodeSha256"]
    return found


def push(clients: dict[str, Any], settings: WorkspaceSettings, target: Target, spec: FunctionSpec,
         artifact: Artifact) -> str:
    """Upload the zip, update the function's code, publish a version; the version."""
    name = settings.name(spec.name)
    uploaded = clients["s3"].put_object(
        Bucket=target.code_bucket, Key=artifact.key, Body=artifact.path.read_bytes(),
        ServerSideEncryption="aws:kms", SSEKMSKeyId=target.kms_key_arn, ContentType="application/zip")
    code = {"S3Bucket": target.code_bucket, "S3Key": artifact.key}
    if uploaded.get("VersionId"):
        code["S3ObjectVersion"] = uploaded["VersionId"]
    lam = clients["lambda"]
    lam.update_function_code(FunctionName=name, **code)
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    # CodeSha256 guards against publishing someone else's concurrent update.
    return str(lam.publish_version(FunctionName=name, CodeSha256=artifact.sha256_b64)["Version"])


def swap(settings: WorkspaceSettings, build_dir: Path, log: Callable[[str], None], source_root: Path = ROOT,
         functions: tuple[FunctionSpec, ...] = FUNCTIONS) -> int:
    """One pass: every function whose built zip differs from what `live` runs gets it; the exit code."""
    started = time.monotonic()
    clients = _clients(settings)
    artifacts = build_all(settings, build_dir, source_root, functions)
    try:
        deployed = deployed_hashes(clients["lambda"], settings, functions)
        changed = [spec for spec in functions if artifacts[spec.name].sha256_b64 != deployed[spec.name]]
        if not changed:
            log(f"hotswap {settings.workspace}: every function already runs this code")
            return EXIT_OK
        target = deployed_target(clients["s3"], settings)
        versions = {spec.name: push(clients, settings, target, spec, artifacts[spec.name]) for spec in changed}
    except (ClientError, BotoCoreError) as err:
        raise HotswapError(f"hotswap {settings.workspace}: {err}") from None
    log(f"hotswap {settings.workspace}: published " + ", ".join(f"{n} version {v}" for n, v in versions.items()))
    if settings.emulator_endpoint:  # local mode's next redeploy must apply the app layer again
        from localmode.applied import RECORD_SUFFIX

        clients["s3"].delete_object(Bucket=settings.state_bucket, Key=state_key(settings, "app") + RECORD_SUFFIX)
    hook = hook_function(functions)
    if hook in changed:  # no deployment group: Terraform moves its alias, and so does this
        clients["lambda"].update_alias(FunctionName=settings.name(hook.name), Name=LIVE_ALIAS,
                                       FunctionVersion=versions[hook.name])
    code = EXIT_OK
    rolled = tuple(spec for spec in changed if spec is not hook)
    if rolled:
        code = rollout.rollout(settings, log, functions=(*rolled, hook))
    outcome = "live" if code == EXIT_OK else "rolled back"
    log(f"hotswap {settings.workspace}: {', '.join(versions)} {outcome} in {time.monotonic() - started:.1f} s"
        f"{'' if code == EXIT_OK else ': the previous version keeps answering'}. "
        f"Terraform's state now differs for {', '.join(versions)}: the next deploy reconciles it "
        f"(an in-place update of the function)")
    return code


def watch(settings: WorkspaceSettings, log: Callable[[str], None], source_root: Path = ROOT,
          stop: threading.Event | None = None) -> int:
    """Swap once, then on every change under `handlers/` until Ctrl-C (or `stop` is set)."""
    from watchfiles import PythonFilter  # imported here: only the watcher needs it
    from watchfiles import watch as watch_changes

    with tempfile.TemporaryDirectory(prefix="hotswap-") as build_dir:
        watching = False
        # The first pass runs at the watcher's first (empty) yield, once it is set up: an edit saved
        # during that pass, or right after "watching" is printed, is already collected for the next.
        for changes in watch_changes(source_root / "handlers", watch_filter=PythonFilter(), stop_event=stop,
                                     debounce=200, step=50, rust_timeout=WAKE_MS, yield_on_timeout=True):
            if not watching:
                swap(settings, Path(build_dir), log, source_root)
                log(f"hotswap {settings.workspace}: watching {source_root / 'handlers'} (Ctrl-C stops)")
                watching = True
                continue
            if not changes:
                continue
            edited = sorted({Path(path).relative_to(source_root).as_posix() for _, path in changes})
            log(f"hotswap {settings.workspace}: changed {', '.join(edited)}")
            try:
                swap(settings, Path(build_dir), log, source_root)
            except HotswapError as err:  # keep watching: the next edit may fix it
                log(f"error: {err}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m delivery.hotswap", description=__doc__.split("\n")[0])
    parser.add_argument("workspace", help=f"one of {', '.join(HOTSWAP_WORKSPACES)}")
    parser.add_argument("--once", action="store_true", help="push what differs once, then exit")
    args = parser.parse_args(argv)
    if args.workspace not in HOTSWAP_WORKSPACES:
        print(f"error: hotswap is for {' and '.join(HOTSWAP_WORKSPACES)} only, not {args.workspace!r}: "
              f"{args.workspace} gets code through the reviewed pipeline (pull request, plan review, deploy.yml)",
              file=sys.stderr)
        return EXIT_ERROR
    try:
        settings = settings_for(args.workspace, os.environ)
        if args.once:
            with tempfile.TemporaryDirectory(prefix="hotswap-") as build_dir:
                return swap(settings, Path(build_dir), lambda line: print(line, flush=True))
        return watch(settings, lambda line: print(line, flush=True))
    except (ConfigError, HotswapError, rollout.RolloutError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
