"""SnapStart safety: Lambda restores many execution environments from one snapshot of the
initialized function, so nothing made during init may be relied on to be unique, and the
after-restore hook must run. os.fork() after init stands in for two restores of one memory
image; since Python reseeds `random` in a forked child (an at-fork handler a snapshot restore
does not run), each child first puts back the random state the snapshot held."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from handlers.shared.aws import clients

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "api", "POWERTOOLS_METRICS_NAMESPACE": "SnapStart", "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
    "TABLE_NAME": "items", "IDEMPOTENCY_TABLE_NAME": "idempotency",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:jobs",
}
# Stands in for the managed runtime's snapshot_restore_py: records the hooks, runs them on "restore".
FAKE_RUNTIME_HOOKS = """
hooks = []
def register_after_restore(func, *args, **kwargs):
    hooks.append((func, args, kwargs))
    return func
def register_before_snapshot(func, *args, **kwargs):
    return func
def restore():
    for func, args, kwargs in hooks:
        func(*args, **kwargs)
"""
RESTORE_TWICE = """
import json, os, random, sys
import snapshot_restore_py
import handlers.api.app  # init, as Lambda runs it before taking the snapshot
from handlers.shared.identifiers import new_id
registered = [f.__qualname__ for f, _, _ in snapshot_restore_py.hooks]
snapshot_random_state = random.getstate()
def restored_environment(run_hooks):
    read, write = os.pipe()
    if os.fork() == 0:
        random.setstate(snapshot_random_state)  # the snapshot's memory, as restored
        if run_hooks:
            snapshot_restore_py.restore()
        os.write(write, json.dumps({"id": new_id(), "random": random.random()}).encode())
        os._exit(0)
    os.close(write)
    os.wait()
    return json.loads(os.read(read, 4096))
print(json.dumps({"registered": registered, "restored": [restored_environment(True) for _ in range(2)],
                  "without_hooks": [restored_environment(False) for _ in range(2)]}))
"""


def restore_twice(tmp_path: Path) -> dict:
    (tmp_path / "snapshot_restore_py.py").write_text(textwrap.dedent(FAKE_RUNTIME_HOOKS))
    env = {**os.environ, **ENVIRONMENT, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])}
    result = subprocess.run([sys.executable, "-c", RESTORE_TWICE], cwd=REPO_ROOT, env=env, capture_output=True,
                            text=True, check=True, timeout=120)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_environments_restored_from_one_snapshot_generate_distinct_values(tmp_path):
    # Given the API initialized once, as for a snapshot,
    outcome = restore_twice(tmp_path)
    # the clients module registered its after-restore hook with the runtime,
    assert outcome["registered"] == ["after_restore"]
    # and two environments restored from it create different ids and random values.
    first, second = outcome["restored"]
    assert first["id"] != second["id"]
    assert first["random"] != second["random"]
    # Without the hook, the random module's state is shared: the check would notice.
    plain_first, plain_second = outcome["without_hooks"]
    assert plain_first["random"] == plain_second["random"]


def test_after_restore_closes_the_connections_of_every_client():
    closed = []

    class Client:
        def __init__(self, name: str) -> None:
            self.name = name

        def close(self) -> None:
            closed.append(self.name)

    saved = dict(clients._clients)
    clients._clients.clear()
    clients._clients.update({"dynamodb": Client("dynamodb"), "sns": Client("sns")})
    try:
        clients.after_restore()
    finally:
        clients._clients.clear()
        clients._clients.update(saved)
    assert sorted(closed) == ["dynamodb", "sns"]
