"""Benchmark of the Lambda handlers: cold init and warm latency. A script that prints figures, not a test.

Usage: ``python bench/bench_handlers.py [--runs 9] [--calls 2000]``

* Cold init as Lambda runs it ("honest"): each function's zip is extracted into its own task
  root and the dependencies layer into ``opt/python``, both built by ``modules/packaging.py``
  for this machine's architecture and Python; children run with ``PYTHONDONTWRITEBYTECODE`` and
  those two directories first on ``sys.path``, like Lambda's read-only ``/var/task`` and
  ``/opt/python``, so pydantic, Powertools and the handlers are compiled from source on every
  cold start unless the artifacts carry bytecode. boto3 comes from the environment with its
  bytecode, as the Lambda runtime ships it. Two honest tables: artifacts with sources only
  (what a build without an interpreter of the runtime ships) and with bytecode (compiled by this
  interpreter, see ``modules/bytecode.py``). The library floors are measured the same way, from
  the same layer.
* Cold init with warm caches (the third table): each entry point is imported in a fresh
  interpreter (import + module-level setup: settings validation, clients, resolver), measured
  inside the child with ``perf_counter``, so interpreter start-up (identical for everyone) is
  left out. The floor, ``import boto3;
  boto3.client("dynamodb")``, is measured in the same rounds, in a random order with the entry
  points so machine noise hits all alike. Medians over ``--runs`` rounds.
  For the API, the child also times its first request (GET /items/{id}, DynamoDB stubbed), because
  work deferred out of init is paid there: init + first request is what the first caller waits.
  Tracing is off as it is outside Lambda; ``--with-tracing`` adds an API run with Lambda's
  environment (LAMBDA_TASK_ROOT set), where the Tracer loads the X-Ray SDK.
* Warm latency: create, get and list through ``lambda_handler`` in this process, DynamoDB stubbed
  with botocore's Stubber (parameters are still validated and serialized by botocore), p50 and p99
  over ``--calls`` calls after a warm-up.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_SERVICE_NAME": "bench",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "TABLE_NAME": "bench-table",
    "IDEMPOTENCY_TABLE_NAME": "bench-idempotency",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:bench",
    "EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench",
}

ENTRY_POINTS = (
    "handlers.api.app",
    "handlers.workflow.validate",
    "handlers.workflow.process",
    "handlers.workflow.notify",
    "handlers.workflow.mark_failed",
    "handlers.scheduled.digest",
    "handlers.stream.consumer",
)

# What the API's libraries cost before any of this project's code runs: the floor plus pydantic
# (import, one model), and the floor plus a minimal Powertools API (Logger, Metrics, a resolver
# with validation and one pydantic-validated route). The API entry point cannot start faster
# than the second line.
_TIMED = """
import time
start = time.perf_counter()
{body}
print(f'{{{{"init_ms": {{(time.perf_counter() - start) * 1000:.3f}}}}}}')
"""
_FLOOR_BODY = 'import boto3\nboto3.client("dynamodb")'
FLOOR_CODE = _TIMED.format(body=_FLOOR_BODY)
LIBRARY_FLOORS = {
    "floor + pydantic model": _FLOOR_BODY + """
from pydantic import BaseModel
class Model(BaseModel):
    name: str
Model(name="x")""",
    "floor + minimal Powertools API": _FLOOR_BODY + """
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel
class Model(BaseModel):
    name: str
Logger(); Metrics()
app = APIGatewayRestResolver(enable_validation=True)
@app.post("/items")
def create(body: Model) -> dict:
    return {}""",
}

ENTRY_CODE = """
import time
start = time.perf_counter()
import importlib
module = importlib.import_module({module!r})
init_ms = (time.perf_counter() - start) * 1000
first_ms = None
if {first_request!r}:
    import sys, io
    sys.path.insert(0, {bench_dir!r})
    from bench_handlers import first_api_request
    first_ms = first_api_request(module)
print('{{"init_ms": %.3f, "first_ms": %s}}' % (init_ms, "null" if first_ms is None else "%.3f" % first_ms))
"""


@dataclass(frozen=True)
class Placement:
    """Where a child finds the code: the repository with warm caches, or Lambda-like
    directories built from the artifacts (task root per function, layer in opt/python)."""

    title: str
    task_roots: dict[str, Path] | None = None  # entry module -> extracted function zip
    layer: Path | None = None  # extracted layer (holds python/)

    def environment(self, module: str | None, tracing: bool = False) -> tuple[dict[str, str], Path]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "POWERTOOLS_"))}
        env.update(ENVIRONMENT)
        env.pop("LAMBDA_TASK_ROOT", None)
        if self.task_roots is None:
            env["PYTHONPATH"] = str(REPO_ROOT)
            cwd = REPO_ROOT
        else:
            assert self.layer is not None
            cwd = self.task_roots[module] if module else self.layer
            env["PYTHONPATH"] = os.pathsep.join([str(cwd), str(self.layer / "python")])
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        if tracing:
            env["LAMBDA_TASK_ROOT"] = str(cwd)
            env["AWS_XRAY_CONTEXT_MISSING"] = "IGNORE_ERROR"
        return env, cwd


WARM = Placement("Cold init with warm bytecode caches (code from the repository)")


def _run_child(code: str, placement: Placement = WARM, module: str | None = None,
               tracing: bool = False) -> dict[str, Any]:
    env, cwd = placement.environment(module, tracing)
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                            check=True)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def lambda_placements(work: Path) -> list[Placement]:
    """Task roots and a layer as Lambda lays them out, built by the project's packaging for
    this machine (its architecture, and a runtime of this interpreter's version): once with
    sources only, once with bytecode from this interpreter."""
    sys.path.insert(0, str(REPO_ROOT))
    from modules.bytecode import bytecode_compiler
    from modules.catalog import FUNCTIONS
    from modules.packaging import build_function, build_layer

    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    architecture = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    placements = []
    for label, compiler in (("sources only", None), ("with bytecode", bytecode_compiler(runtime, sys.executable))):
        folder = work / label.replace(" ", "-")
        layer = build_layer(architecture, runtime, REPO_ROOT / "build", compiler=compiler)
        zipfile.ZipFile(layer.path).extractall(folder / "opt")
        roots = {}
        for spec in FUNCTIONS:
            artifact = build_function(spec, folder / "build", compiler=compiler)
            zipfile.ZipFile(artifact.path).extractall(folder / "task" / spec.name)
            roots[spec.handler.rsplit(".", 1)[0]] = folder / "task" / spec.name
        size = layer.size / 1024
        placements.append(Placement(f"Cold init as Lambda runs it, artifacts with {label} (layer {size:.0f} KiB)",
                                    roots, folder / "opt"))
    return placements


def _item_attributes(item_id: str) -> dict[str, Any]:
    now = "2025-01-01T00:00:00.000000Z"
    return {
        "pk": {"S": f"ITEM#{item_id}"},
        "sk": {"S": "ITEM"},
        "gsi1pk": {"S": "ITEM"},
        "gsi1sk": {"S": f"{now}#{item_id}"},
        "id": {"S": item_id},
        "name": {"S": "bench item"},
        "description": {"S": "an item used by the benchmark"},
        "tags": {"L": [{"S": "bench"}, {"S": "perf"}]},
        "version": {"N": "1"},
        "created_at": {"S": now},
        "updated_at": {"S": now},
    }


class _Context:
    function_name = "bench-api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-api"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _event(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> dict[str, Any]:
    headers = {"Host": "bench.execute-api.us-east-1.amazonaws.com", "Content-Type": "application/json"}
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None,
        "requestContext": {"requestId": str(uuid.uuid4()), "stage": "prod", "identity": {"apiKeyId": "bench"}},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def first_api_request(module: Any) -> float:
    """Time the first GET /items/{id} of a fresh API container (DynamoDB stubbed)."""
    from botocore.stub import Stubber

    from handlers.shared.aws import clients

    item_id = str(uuid.uuid4())
    stubber = Stubber(clients.get("dynamodb"))
    stubber.add_response("get_item", {"Item": _item_attributes(item_id)})
    stubber.activate()
    with contextlib.redirect_stdout(io.StringIO()):
        start = time.perf_counter()
        response = module.lambda_handler(_event("GET", f"/items/{item_id}"), _Context())
        elapsed = (time.perf_counter() - start) * 1000
    if response["statusCode"] != 200:
        raise RuntimeError(f"first request failed: {response}")
    return elapsed


def bench_cold(runs: int, with_tracing: bool, placement: Placement = WARM) -> None:
    """Print one cold init table: every entry point and the floors, in shuffled rounds."""
    bench_dir = str(Path(__file__).resolve().parent)
    samples: dict[str, list[float]] = {"floor": []}
    first: list[float] = []
    traced: list[float] = []
    order = random.Random(20250301)
    lines = ["floor", *LIBRARY_FLOORS, *ENTRY_POINTS]
    for _ in range(runs):
        # A new random order every round, so load spikes and cache effects hit every line alike.
        for module in order.sample(lines, k=len(lines)):
            if module == "floor":
                samples["floor"].append(_run_child(FLOOR_CODE, placement)["init_ms"])
                continue
            if module in LIBRARY_FLOORS:
                code = _TIMED.format(body=LIBRARY_FLOORS[module])
                samples.setdefault(module, []).append(_run_child(code, placement)["init_ms"])
                continue
            is_api = module == "handlers.api.app"
            code = ENTRY_CODE.format(module=module, first_request=is_api, bench_dir=bench_dir)
            result = _run_child(code, placement, module)
            samples.setdefault(module, []).append(result["init_ms"])
            if is_api:
                first.append(result["first_ms"])
                if with_tracing:
                    traced.append(_run_child(code, placement, module, tracing=True)["init_ms"])
    floor = statistics.median(samples["floor"])
    print(f"{placement.title}: median of {runs} fresh interpreters (import + module-level setup)")
    print(f"  {'entry point':<34}{'init ms':>10}{'x floor':>10}{'x library floor':>17}")
    library = statistics.median(samples["floor + minimal Powertools API"])
    print(f"  {'floor: boto3 + client(dynamodb)':<34}{floor:>10.1f}{1.0:>10.2f}")
    for name in (*LIBRARY_FLOORS, *ENTRY_POINTS):
        value = statistics.median(samples[name])
        print(f"  {name:<34}{value:>10.1f}{value / floor:>10.2f}{value / library:>17.2f}")
    api_init = statistics.median(samples["handlers.api.app"])
    first_ms = statistics.median(first)
    print(f"  API first request (GET /items/{{id}}, stubbed): {first_ms:.1f} ms")
    print(f"  API init + first request: {api_init + first_ms:.1f} ms = {(api_init + first_ms) / floor:.2f} x floor,"
          f" {(api_init + first_ms) / library:.2f} x library floor")
    if traced:
        value = statistics.median(traced)
        print(f"  API init with tracing on (X-Ray SDK loaded): {value:.1f} ms = {value / floor:.2f} x floor")


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99_index = min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))
    return statistics.median(ordered), ordered[p99_index]


def bench_warm(calls: int) -> None:
    """Print warm latency of create, get and list through lambda_handler."""
    os.environ.update(ENVIRONMENT)
    os.environ.pop("LAMBDA_TASK_ROOT", None)
    # GET requests add no metric; Powertools warns about each such flush.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    sys.path.insert(0, str(REPO_ROOT))
    from botocore.stub import Stubber

    from handlers.api import app
    from handlers.shared.aws import clients

    stubber = Stubber(clients.get("dynamodb"))
    stubber.activate()
    context = _Context()
    item_id = str(uuid.uuid4())
    page = [_item_attributes(str(uuid.uuid4())) for _ in range(20)]
    scenarios: dict[str, tuple[Callable[[], None], Callable[[], dict[str, Any]], int]] = {
        "create (POST /items)": (
            lambda: stubber.add_response("put_item", {}),
            lambda: _event("POST", "/items", body={"name": "bench", "description": "d", "tags": ["a", "b"]}),
            201,
        ),
        "get (GET /items/{id})": (
            lambda: stubber.add_response("get_item", {"Item": _item_attributes(item_id)}),
            lambda: _event("GET", f"/items/{item_id}"),
            200,
        ),
        "list (GET /items, 20 items)": (
            lambda: stubber.add_response("query", {"Items": page, "Count": 20}),
            lambda: _event("GET", "/items", query={"limit": "20"}),
            200,
        ),
    }
    print(f"Warm latency through lambda_handler, DynamoDB stubbed, {calls} calls after 100 warm-up calls")
    print(f"  {'scenario':<30}{'p50 ms':>10}{'p99 ms':>10}")
    sink = io.StringIO()
    for name, (stub, make_event, expected) in scenarios.items():
        timings: list[float] = []
        for index in range(calls + 100):
            stub()
            event = make_event()
            with contextlib.redirect_stdout(sink):
                start = time.perf_counter_ns()
                response = app.lambda_handler(event, context)
                elapsed = time.perf_counter_ns() - start
            sink.seek(0)
            sink.truncate()
            if response["statusCode"] != expected:
                raise RuntimeError(f"{name}: unexpected answer {response}")
            if index >= 100:
                timings.append(elapsed / 1e6)
        p50, p99 = _percentiles(timings)
        print(f"  {name:<30}{p50:>10.3f}{p99:>10.3f}")


def main() -> int:
    """Run both benchmarks and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters per entry point (>= 7)")
    parser.add_argument("--calls", type=int, default=2000, help="warm calls per scenario (>= 2000)")
    parser.add_argument("--with-tracing", action="store_true", help="also time API init with tracing on")
    parser.add_argument("--warm-only", action="store_true", help="skip the cold init measurements")
    arguments = parser.parse_args()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"Python {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs, load average {load}")
    if not arguments.warm_only:
        with tempfile.TemporaryDirectory(prefix="bench-lambda-") as work:
            for placement in (*lambda_placements(Path(work)), WARM):
                bench_cold(max(arguments.runs, 7), arguments.with_tracing, placement)
                print()
    bench_warm(max(arguments.calls, 2000))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
