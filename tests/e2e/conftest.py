"""Deploy the `local` workspace as `make up` does: an in-process emulator on a free port, one synth
of `local` (+ `bootstrap`), Terraform applied directly on those stacks (`localmode.deploy`), then
the API served on a free localhost port. Once per group of modules under `make test`'s workers
(tests/conftest.py), once for all of them in a run without workers; Terraform deploys the first,
the others restore it (`deploy`), all but one group into a copy of the first one's synth."""

from __future__ import annotations

import fcntl
import functools
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from delivery.code_resynth import RECORD_FILE
from delivery.synth_cache import DIGEST_FILE
from localmode import runtime
from localmode.deploy import LocalDeployer
from localmode.emulator import Emulator
from localmode.warm_start import WarmStart
from tests.conftest import E2E_GROUPS, under_xdist


@dataclass
class LocalBackend:
    emulator: Emulator
    deployer: LocalDeployer
    api: runtime.LocalApi

    @property
    def url(self) -> str:
        return self.api.url

    @property
    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.api.api_key}

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.emulator.endpoint, region_name="us-west-2",
                            aws_access_key_id="test", aws_secret_access_key="test")

    @functools.cached_property
    def session(self) -> requests.Session:
        """HTTP to the local API without reading proxies from the environment: this process
        also runs the functions, whose invocations swap their variables into `os.environ`
        (localmode/lambda_runtime.py), and requests iterates it per call (a KeyError when a
        variable goes away mid-iteration)."""
        session = requests.Session()
        session.trust_env = False
        return session

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.session.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)


SNAPSHOT, LOCK, FAILURE = "deployment", "deployment.lock", "deployment-failed.txt"
SYNTH, ENDPOINT = "cdktf-out", "endpoint"  # the saved deployment's synth output and its emulator's endpoint
# The group whose deployment is made as `make up` makes a warm start (its own synth, then the
# restore: what test_2a_warm_start checks); the others restore the same deployment into a copy
# of the session's synth (`retarget`), which saves a synth per group.
OWN_SYNTH_GROUP = E2E_GROUPS["test_2a_warm_start.py"]


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """One process of the session at a time (the workers of `make test` share the lock file)."""
    with open(lock_file, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the session's saved deployment is: shared by the workers of `make test` (named by the
    run's id, which the controller gives every worker) or this process's own temporary directory."""
    if under_xdist():
        return Path(tempfile.gettempdir()) / f"e2e-deployment-{os.environ['PYTEST_XDIST_TESTRUNUID']}"
    return tmp_path_factory.getbasetemp()


def deploy_and_save(emulator: Emulator, deployer: LocalDeployer, shared: Path, log: Callable[[str], None]) -> None:
    """Terraform applies the synthesized stacks into `emulator`; the deployment is saved for the others."""
    deployer.apply()
    deployer.roll_out()
    warm = WarmStart.of(shared / SNAPSHOT, deployer)
    if not warm.save(deployer.records, log):
        raise RuntimeError("the e2e deployment could not be saved for the other groups")
    (shared / ENDPOINT).write_text(emulator.endpoint)


def retarget(shared: Path, outdir: Path, endpoint: str) -> bool:
    """The saved deployment's synth output copied into `outdir` for the emulator at `endpoint`:
    the synthesized JSON differs from a synth for that endpoint in the endpoint only (the
    restore checks each stack's digest with the endpoint left out, localmode/applied.py).
    Terraform's working files and the synth's records stay behind. False without a saved synth."""
    source = shared / SYNTH
    if not (shared / ENDPOINT).is_file() or not (source / "manifest.json").is_file():
        return False
    saved_endpoint = (shared / ENDPOINT).read_text().encode()
    shutil.copytree(source, outdir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
        ".terraform", ".terraform.lock.hcl", "*.tfstate*", "*.tfplan", DIGEST_FILE, RECORD_FILE))
    for path in outdir.glob("stacks/*/cdk.tf.json"):
        path.write_bytes(path.read_bytes().replace(saved_endpoint, endpoint.encode()))
    return True


def deploy(tmp_path_factory: pytest.TempPathFactory, group: str) -> LocalBackend:
    """The deployment of one group: the session's saved deployment restored into this process's own
    emulator, after its own synth (OWN_SYNTH_GROUP: `make up`'s warm start) or into a copy of the
    saved synth (the other groups: `retarget`), or, for the first group of a run without workers,
    made by Terraform and saved. Under `make test` the controller deploys (below) while the workers
    run the other suites."""
    shared = shared_dir(tmp_path_factory)
    shared.mkdir(parents=True, exist_ok=True)
    emulator = Emulator(port=0).start()
    log = lambda line: print(line, flush=True)  # noqa: E731
    deployer = LocalDeployer(emulator.endpoint, outdir=tmp_path_factory.mktemp("cdktf-out"), log=log)
    try:
        synthesized = group == OWN_SYNTH_GROUP or not under_xdist()
        if synthesized:
            deployer.synth()
        with exclusive(shared / LOCK):
            failure = shared / FAILURE
            if failure.exists():
                pytest.fail(f"the session's e2e deployment failed:\n{failure.read_text()[-4000:]}", pytrace=False)
            saved = (shared / ENDPOINT).is_file()  # the session's deployment, made and saved
            if not synthesized and not retarget(shared, deployer.outdir, emulator.endpoint):
                deployer.synth()
            said: list[str] = []

            def say(line: str) -> None:
                log(line)
                said.append(line)

            if not WarmStart.of(shared / SNAPSHOT, deployer).restore(say):
                if saved:  # never a silent second deploy: the restore itself is what broke
                    pytest.fail(f"the session's saved deployment did not restore: {' '.join(said)}", pytrace=False)
                deploy_and_save(emulator, deployer, shared, log)
        api = runtime.start(emulator.endpoint, api_port=0)
    except BaseException:
        deployer.close()
        emulator.stop()
        raise
    return LocalBackend(emulator, deployer, api)


class ControllerDeploy:
    """`make test`'s controller deploys the local workspace once, in the background, as soon as a
    worker has collected e2e tests; the workers restore it when they reach their e2e groups (by
    then the suites before them have run). It holds the lock until the deployment is saved; a
    failure is written beside it, and every e2e group fails with it instead of deploying again."""

    def __init__(self, shared: Path) -> None:
        self.shared = shared
        self.cancelled = threading.Event()
        shared.mkdir(parents=True, exist_ok=True)
        self._lock = open(shared / LOCK, "w")  # noqa: SIM115 (released by the thread)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self._thread = threading.Thread(target=self._run, name="e2e-deploy", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        log_file = self.shared / "deploy.log"
        try:
            with open(log_file, "w") as log, Emulator(port=0) as emulator:
                def say(line: str) -> None:
                    log.write(line + "\n")
                    log.flush()

                deployer = LocalDeployer(emulator.endpoint, outdir=self.shared / SYNTH, log=say,
                                         cancelled=self.cancelled)
                try:
                    deployer.synth()
                    deploy_and_save(emulator, deployer, self.shared, say)
                finally:
                    deployer.close()
        except BaseException as err:  # every e2e group reports it
            (self.shared / FAILURE).write_text(f"{type(err).__name__}: {err}\n{log_file.read_text()[-4000:]}")
        finally:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()

    def finish(self) -> None:
        self.cancelled.set()
        self._thread.join(timeout=120)
        shutil.rmtree(self.shared, ignore_errors=True)


CONTROLLER: list[ControllerDeploy] = []


def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """In `make test`'s controller: the first worker that collected e2e tests starts the deploy."""
    if not CONTROLLER and any(nodeid.startswith("tests/e2e/") for nodeid in ids):
        testrunuid = node.workerinput["testrunuid"]
        CONTROLLER.append(ControllerDeploy(Path(tempfile.gettempdir()) / f"e2e-deployment-{testrunuid}"))


def pytest_sessionfinish() -> None:
    while CONTROLLER:
        CONTROLLER.pop().finish()


def release(backend: LocalBackend) -> None:
    backend.api.stop()
    backend.deployer.close()
    backend.emulator.stop()


class Deployments:
    """One deployment per group of e2e modules (tests/conftest.py): a worker of `make test` restores
    the session's deployment for each group it runs and ends it before leaving the group; a run
    without workers has one group, every module in the files' order."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.current: tuple[str, LocalBackend] | None = None

    def of(self, group: str) -> LocalBackend:
        if self.current is None or self.current[0] != group:
            self.release()
            self.current = (group, deploy(self.tmp_path_factory, group))
        return self.current[1]

    def release(self) -> None:
        current, self.current = self.current, None
        if current is not None:
            release(current[1])


def deployment_group(item: pytest.Item) -> str:
    marker = item.get_closest_marker("xdist_group")
    return str(marker.args[0]) if under_xdist() and marker is not None else "e2e"


@pytest.fixture(scope="session")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployments]:
    registry = Deployments(tmp_path_factory)
    DEPLOYMENTS.append(registry)
    yield registry
    registry.release()
    DEPLOYMENTS.remove(registry)


DEPLOYMENTS: list[Deployments] = []  # the session's registry, for the teardown hook below


@pytest.fixture(scope="module")
def local_backend(request: pytest.FixtureRequest, deployments: Deployments) -> LocalBackend:
    """The deployment of this module's group (deployed on first use)."""
    return deployments.of(deployment_group(request.node))


@pytest.hookimpl(trylast=True)  # after the module's own fixtures, which may still use the deployment
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """End the group's deployment once the worker's next test is not in the group (another
    suite's tests may start an emulator or moto's mock, both process-wide)."""
    if nextitem is None or deployment_group(nextitem) != deployment_group(item) or "e2e" not in nextitem.path.parts:
        for registry in DEPLOYMENTS:
            registry.release()
