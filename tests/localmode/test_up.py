"""`make up` (python -m localmode.up) as a new user meets it: bad input and taken ports fail at
once with one line, before any work; SIGTERM stops it in every phase and leaves no process behind."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localmode import up
from tests.localmode.ports import free_port, port_is_free

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def start_up(tmp_path: Path, **env: str) -> subprocess.Popen[str]:
    environ = {**os.environ, "LOCAL_STATE_DIR": str(tmp_path / "state"),
               "EMULATOR_ENDPOINT": f"http://127.0.0.1:{free_port()}", "LOCAL_API_PORT": str(free_port()), **env}
    return subprocess.Popen([sys.executable, "-u", "-m", "localmode.up"], cwd=ROOT, env=environ, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def run_up(tmp_path: Path, **env: str) -> tuple[int, str, str]:
    proc = start_up(tmp_path, **env)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == up.EXIT_BAD_INPUT, (out, err)
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0]
    assert "synth" not in out  # no work started


@pytest.mark.parametrize("value", ["abc", "0", "70000", "-1", "80.5"])
def test_a_bad_api_port_fails_at_once_naming_the_variable(tmp_path: Path, value: str) -> None:
    assert_one_line_error(*run_up(tmp_path, LOCAL_API_PORT=value), "LOCAL_API_PORT", repr(value), "free port")
    assert not (tmp_path / "state" / "up.pid").exists()


@pytest.mark.parametrize("value", ["http://127.0.0.1:abc", "127.0.0.1:4566", "http://127.0.0.1:99999", "http://:45"])
def test_a_bad_emulator_endpoint_fails_at_once_naming_the_variable(tmp_path: Path, value: str) -> None:
    assert_one_line_error(*run_up(tmp_path, EMULATOR_ENDPOINT=value), "EMULATOR_ENDPOINT", repr(value))


def test_a_bad_configuration_value_fails_at_once(tmp_path: Path) -> None:
    assert_one_line_error(*run_up(tmp_path, DEPLOY_REGION="moon-1"), "moon-1")


def test_a_taken_emulator_port_fails_at_once_naming_the_port(tmp_path: Path, taken_port: int) -> None:
    code, out, err = run_up(tmp_path, EMULATOR_ENDPOINT=f"http://127.0.0.1:{taken_port}")
    assert_one_line_error(code, out, err, f"port {taken_port}", "EMULATOR_ENDPOINT", "in use")


def test_a_taken_api_port_fails_before_deploying(tmp_path: Path, taken_port: int) -> None:
    code, out, err = run_up(tmp_path, LOCAL_API_PORT=str(taken_port))
    assert_one_line_error(code, out, err, f"port {taken_port}", "LOCAL_API_PORT", "in use")


def test_the_same_port_for_both_is_refused(tmp_path: Path) -> None:
    port = free_port()
    code, out, err = run_up(tmp_path, EMULATOR_ENDPOINT=f"http://127.0.0.1:{port}", LOCAL_API_PORT=str(port))
    assert_one_line_error(code, out, err, "LOCAL_API_PORT", "emulator's port")


def test_a_second_instance_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "up.pid").write_text(str(os.getpid()))  # a live process
    assert_one_line_error(*run_up(tmp_path), "already running", "make down")


def test_the_emulator_on_a_taken_port_raises_instead_of_hanging(taken_port: int) -> None:
    # In a process of its own: moto's state is process-wide and this package's emulator runs here.
    script = (
        "import sys\n"
        "from localmode.emulator import Emulator, EmulatorError\n"
        f"emulator = Emulator(port={taken_port})\n"
        "try:\n"
        "    emulator.start()\n"
        "except EmulatorError as err:\n"
        "    print('raised:', err)\n"
        "print('running:', Emulator._running)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=False)
    assert f"raised: the emulator cannot listen on 127.0.0.1:{taken_port}" in result.stdout, result.stderr
    assert "running: None" in result.stdout  # a later emulator may start


def processes_with(marker: str) -> list[int]:
    """Processes whose environment contains `marker` (every descendant of a test's `make up`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float) -> list[str]:
    lines: list[str] = []
    found = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if needle in line:
                found.set()

    threading.Thread(target=read, daemon=True).start()
    assert found.wait(timeout), f"no {needle!r} in:\n{''.join(lines)}"
    return lines




def stop_and_check(proc: subprocess.Popen[str], tmp_path: Path, ports: tuple[int, ...],
                   signum: int = signal.SIGTERM) -> None:
    proc.send_signal(signum)  # SIGINT: what Ctrl-C sends
    code = proc.wait(timeout=30)
    assert code == up.EXIT_STOPPED
    deadline = time.monotonic() + 5  # the kernel reaps killed grandchildren asynchronously
    while processes_with(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with(str(tmp_path)) == []
    assert all(port_is_free(port) for port in ports)
    assert not (tmp_path / "state" / "up.pid").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_the_synth_stops_it_and_its_subprocesses(tmp_path: Path, signum: int) -> None:
    proc = start_up(tmp_path)
    wait_for_line(proc, "synth: started", timeout=60)
    time.sleep(3)  # the synth (python main.py, node) is running
    assert len(processes_with(str(tmp_path))) >= 2
    stop_and_check(proc, tmp_path, (), signum)


@pytest.mark.terraform
def test_sigterm_during_the_deploy_kills_terraform_and_frees_both_ports(tmp_path: Path) -> None:
    emulator_port, api_port = free_port(), free_port()
    proc = start_up(tmp_path, EMULATOR_ENDPOINT=f"http://127.0.0.1:{emulator_port}", LOCAL_API_PORT=str(api_port))
    wait_for_line(proc, "local-security: apply started", timeout=240)
    time.sleep(2)
    assert any("terraform" in Path(f"/proc/{pid}/cmdline").read_text() for pid in processes_with(str(tmp_path)))
    stop_and_check(proc, tmp_path, (emulator_port, api_port))


# `make up` with its deploy stubbed out (the e2e deploys for real): the emulator and the API really
# run, so stopping the serving phase is tested on a real process, signal and ports.
SERVING_SCRIPT = """
import os, sys
from pathlib import Path
from delivery.stacks import Stack
from localmode import deploy, runtime, up
from localmode.api_server import ApiServer, Gateway, repository_routes

stacks_dir = os.environ.get("TEST_STACKS_DIR")
deploy.LocalDeployer.synth = lambda self: None
deploy.LocalDeployer.stacks = lambda self: [Stack(path.name, path, ()) for path in sorted(Path(stacks_dir).iterdir())
                                            ] if stacks_dir else []
deploy.LocalDeployer.apply = lambda self: print("deploy: applied", flush=True)
deploy.LocalDeployer.roll_out = lambda self: 0

def start(endpoint, *, api_port, **kwargs):
    gateway = Gateway(invoke=lambda event: {"statusCode": 200, "body": "{}"}, routes=repository_routes(), api_key="k")
    server = ApiServer(gateway, "127.0.0.1", api_port).start()
    return runtime.LocalApi(server.url, "k", "fn", server)

runtime.start = start
sys.exit(up.main([]))
"""


def start_serving(tmp_path: Path, emulator_port: int, api_port: int, *args: str,
                  stacks: Path | None = None) -> subprocess.Popen[str]:
    environ = {**os.environ, "LOCAL_STATE_DIR": str(tmp_path / "state"),
               "EMULATOR_ENDPOINT": f"http://127.0.0.1:{emulator_port}", "LOCAL_API_PORT": str(api_port),
               **({"TEST_STACKS_DIR": str(stacks)} if stacks else {})}
    script = SERVING_SCRIPT.replace("up.main([])", f"up.main({list(args)})")
    return subprocess.Popen([sys.executable, "-u", "-c", script], cwd=ROOT, env=environ, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def test_sigterm_while_serving_frees_both_ports(tmp_path: Path) -> None:
    emulator_port, api_port = free_port(), free_port()
    proc = start_serving(tmp_path, emulator_port, api_port)
    wait_for_line(proc, "API ready", timeout=60)
    assert not port_is_free(emulator_port) and not port_is_free(api_port)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert port_is_free(emulator_port) and port_is_free(api_port)
    assert not (tmp_path / "state" / "up.pid").exists()


def test_make_down_stops_the_serving_local_mode_without_destroying(tmp_path: Path) -> None:
    emulator_port, api_port = free_port(), free_port()
    proc = start_serving(tmp_path, emulator_port, api_port)
    lines = wait_for_line(proc, "API ready", timeout=60)
    environ = {**os.environ, "LOCAL_STATE_DIR": str(tmp_path / "state")}
    down = subprocess.run([sys.executable, "-m", "localmode.up", "down"], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=60, check=False)
    assert down.returncode == 0, down.stderr
    assert "local mode stopped" in down.stdout
    assert proc.poll() == 0  # down returns once `make up` has exited
    assert port_is_free(emulator_port) and port_is_free(api_port)
    assert not any("destroy" in line for line in lines)


def test_make_down_when_nothing_runs_says_so(tmp_path: Path) -> None:
    environ = {**os.environ, "LOCAL_STATE_DIR": str(tmp_path / "state")}
    down = subprocess.run([sys.executable, "-m", "localmode.up", "down"], cwd=ROOT, env=environ,
                          capture_output=True, text=True, timeout=60, check=False)
    assert down.returncode == 0 and "not running" in down.stdout


# --- the warm start: a stop saves the served deployment, the next start restores it -----------------

def stack_with_s3_state(stacks: Path, name: str = "local-app", extra: dict[str, object] | None = None) -> Path:
    directory = stacks / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cdk.tf.json").write_text(json.dumps(
        {"terraform": {"backend": {"s3": {"bucket": "state", "key": f"local/{name}.tfstate"}}}, **(extra or {})}))
    return directory


def aws(service: str, port: int) -> Any:
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-west-2",
                        aws_access_key_id="test", aws_secret_access_key="test")


class Run:
    """One `make up` (deploy stubbed) on fresh ports, until its API is served."""

    def __init__(self, tmp_path: Path, stacks: Path, *args: str) -> None:
        self.port, api_port = free_port(), free_port()
        self.proc = start_serving(tmp_path, self.port, api_port, *args, stacks=stacks)
        self.lines = wait_for_line(self.proc, "API ready", timeout=60)

    def said(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def stop(self) -> list[str]:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=60) == 0, "".join(self.lines)
        time.sleep(0.2)  # the reader thread takes the last lines
        return self.lines

    def stopped_saying(self, text: str) -> bool:
        lines = self.stop()
        assert any(text in line for line in lines), "".join(lines)
        return True


def deploy_state(port: int, resources: list[object]) -> None:
    """What Terraform leaves in the emulator: the state bucket and the stack's state."""
    s3 = aws("s3", port)
    s3.create_bucket(Bucket="state", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket="state", Key="local/local-app.tfstate", Body=json.dumps({"resources": resources}).encode())


def test_a_stopped_deployment_is_restored_by_the_next_start(tmp_path: Path) -> None:
    # Given a served deployment with state, a KMS key, a queued message, a Lambda function (objects
    # moto holds that pickle cannot take as they are) and a state machine (moto has two backends for it)
    stacks = tmp_path / "stacks"
    stack_with_s3_state(stacks)
    first = Run(tmp_path, stacks)
    assert first.said("warm start: not possible, no saved deployment") and first.said("deploy: applied")
    deploy_state(first.port, [{"type": "aws_lambda_function"}])
    kms, sqs, lam = aws("kms", first.port), aws("sqs", first.port), aws("lambda", first.port)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    ciphertext = kms.encrypt(KeyId=key_id, Plaintext=b"kept")["CiphertextBlob"]
    queue_url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody="queued before the stop")
    role = aws("iam", first.port).create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function_arn = lam.create_function(FunctionName="fn", Runtime="python3.12", Role=role, Handler="app.handler",
                                       Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})["FunctionArn"]
    machine_arn = aws("stepfunctions", first.port).create_state_machine(
        name="jobs", roleArn=role, definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    )["stateMachineArn"]
    # When it stops, then it says it saved the deployment
    assert first.stopped_saying("warm start: deployment saved")
    # And the next start restores it without deploying: the same resources, usable as before
    second = Run(tmp_path, stacks)
    assert second.said("warm start: restored the deployment saved at"), "".join(second.lines)
    assert not second.said("deploy: applied")
    kms, sqs, lam = aws("kms", second.port), aws("sqs", second.port), aws("lambda", second.port)
    assert kms.decrypt(CiphertextBlob=ciphertext)["Plaintext"] == b"kept"
    assert kms.encrypt(KeyId=key_id, Plaintext=b"new")["CiphertextBlob"]
    [message] = sqs.receive_message(QueueUrl=queue_url)["Messages"]
    assert message["Body"] == "queued before the stop"
    assert lam.get_function(FunctionName=function_arn)["Configuration"]["FunctionArn"] == function_arn
    assert aws("stepfunctions", second.port).describe_state_machine(stateMachineArn=machine_arn)["name"] == "jobs"
    assert json.loads(aws("s3", second.port).get_object(Bucket="state", Key="local/local-app.tfstate")["Body"].read())
    second.stop()


def test_a_changed_synth_emulator_or_snapshot_falls_back_to_a_deploy_and_says_why(tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    snapshot = tmp_path / "state" / "snapshot"

    def saved_run(*args: str) -> Run:
        run = Run(tmp_path, stacks, *args)
        deploy_state(run.port, [{"type": "aws_s3_bucket"}])
        assert run.stopped_saying("warm start: deployment saved")
        return run

    def fallback(reason: str, *args: str) -> None:
        run = Run(tmp_path, stacks, *args)
        assert run.said(reason) and run.said("deploy: applied"), "".join(run.lines)
        assert aws("s3", run.port).list_buckets()["Buckets"] == []  # nothing half-restored
        deploy_state(run.port, [{"type": "aws_s3_bucket"}])
        run.stop()

    stack_with_s3_state(stacks)
    saved_run()
    # A changed synthesized stack: named
    stack_with_s3_state(stacks, extra={"resource": {"aws_s3_bucket": {"b": {}}}})
    fallback("warm start: not possible, the synthesized stacks changed since the deployment was saved (local-app)")
    # Another emulator: what changed is named
    manifest = json.loads((snapshot / "manifest.json").read_text())
    manifest["emulator"]["moto"] = "0.0.1"
    (snapshot / "manifest.json").write_text(json.dumps(manifest))
    fallback("the emulator changed since the deployment was saved (moto 0.0.1 -> ")
    # A corrupt snapshot: caught by its checksum
    data = (snapshot / "backends.pickle").read_bytes()
    (snapshot / "backends.pickle").write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    fallback("the saved deployment is corrupt (backends.pickle does not match its checksum)")
    # A snapshot that matches its checksum but cannot be loaded: moto is emptied again, then a deploy
    garbage = data[: len(data) // 2]
    (snapshot / "backends.pickle").write_bytes(garbage)
    manifest = json.loads((snapshot / "manifest.json").read_text())
    manifest["backends_sha256"] = hashlib.sha256(garbage).hexdigest()
    (snapshot / "manifest.json").write_text(json.dumps(manifest))
    fallback("warm start: not possible, the saved deployment cannot be restored")
    # FRESH=1: a saved deployment is not used
    fallback("warm start: FRESH=1, the saved deployment is discarded", "--fresh")


def test_a_destroyed_deployment_is_not_saved_and_clean_local_forgets_one(tmp_path: Path) -> None:
    stacks = tmp_path / "stacks"
    stack_with_s3_state(stacks)
    environ = {**os.environ, "LOCAL_STATE_DIR": str(tmp_path / "state")}
    run = Run(tmp_path, stacks)
    deploy_state(run.port, [{"type": "aws_s3_bucket"}])
    # make clean-local refuses while local mode runs (its stop would save again)
    clean = subprocess.run([sys.executable, "-m", "localmode.up", "clean"], cwd=ROOT, env=environ,
                           capture_output=True, text=True, timeout=60, check=False)
    assert clean.returncode == 1 and "`make down` first" in clean.stderr
    run.stop()
    assert (tmp_path / "state" / "snapshot" / "manifest.json").exists()
    # A stop after `make destroy-local` (empty state) saves nothing and removes the old snapshot
    run = Run(tmp_path, stacks)
    assert run.said("warm start: restored")
    aws("s3", run.port).put_object(Bucket="state", Key="local/local-app.tfstate", Body=b'{"resources": []}')
    assert run.stopped_saying("deployment not saved, local-app has no resources")
    assert not (tmp_path / "state" / "snapshot").exists()
    # make clean-local removes a saved deployment
    run = Run(tmp_path, stacks)
    deploy_state(run.port, [{"type": "aws_s3_bucket"}])
    run.stop()
    clean = subprocess.run([sys.executable, "-m", "localmode.up", "clean"], cwd=ROOT, env=environ,
                           capture_output=True, text=True, timeout=60, check=False)
    assert clean.returncode == 0 and "removed the saved local deployment" in clean.stdout
    assert not (tmp_path / "state" / "snapshot").exists()
