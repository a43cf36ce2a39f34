"""`make up` (python -m localmode.up) as a new user meets it: bad input and taken ports fail at
once with one line, before any work; SIGTERM stops it in every phase and leaves no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

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
import sys
from localmode import deploy, runtime, up
from localmode.api_server import ApiServer, Gateway, repository_routes

deploy.LocalDeployer.synth = lambda self: None
deploy.LocalDeployer.apply = lambda self: None
deploy.LocalDeployer.roll_out = lambda self: 0

def start(endpoint, *, api_port, **kwargs):
    gateway = Gateway(invoke=lambda event: {"statusCode": 200, "body": "{}"}, routes=repository_routes(), api_key="k")
    server = ApiServer(gateway, "127.0.0.1", api_port).start()
    return runtime.LocalApi(server.url, "k", "fn", server)

runtime.start = start
sys.exit(up.main([]))
"""


def start_serving(tmp_path: Path, emulator_port: int, api_port: int) -> subprocess.Popen[str]:
    environ = {**os.environ, "LOCAL_STATE_DIR": str(tmp_path / "state"),
               "EMULATOR_ENDPOINT": f"http://127.0.0.1:{emulator_port}", "LOCAL_API_PORT": str(api_port)}
    return subprocess.Popen([sys.executable, "-u", "-c", SERVING_SCRIPT], cwd=ROOT, env=environ, text=True,
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
