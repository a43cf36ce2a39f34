"""The in-process Lambda runtime: handlers run with their own environment, modules and context."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from moto.awslambda.models import lambda_backends

from localmode.api_server import Gateway, RouteTable, repository_routes
from localmode.lambda_runtime import CodeCache, FunctionConfig, LocalLambdaRuntime, running_hook
from tests.localmode.conftest import ACCOUNT, IDEMPOTENCY_TABLE, PREFIX, REGION, TABLE, Deployment, code_zip, dummy_zip

ENDPOINT = "http://127.0.0.1:1"  # never called by the probe handler


def config(handler: str = "lm_probe.app.lambda_handler", setting: str = "one", name: str = "probe") -> FunctionConfig:
    return FunctionConfig(name=name, handler=handler, environment=(("PROBE_SETTING", setting),), memory_mb=256,
                          timeout_seconds=30, version="1", region=REGION, code_sha256="abc")


def run(runtime: LocalLambdaRuntime, function: FunctionConfig, event: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    payload, failed = runtime.run(function, event, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function.name}:live")
    return json.loads(payload), failed


def api_event(method: str, path: str, body: Any = None) -> dict[str, Any]:
    gateway = Gateway(invoke=lambda event: {}, routes=repository_routes(), api_key=None)
    raw = json.dumps(body).encode() if body is not None else b""
    event, _ = gateway.event(method, path, [("Content-Type", "application/json")], raw, "127.0.0.1")
    return event


# --- the runtime on its own, with a probe handler ------------------------------------------------------


def test_a_handler_gets_its_environment_and_a_lambda_context(probe_package: str) -> None:
    runtime = LocalLambdaRuntime(ENDPOINT)

    result, failed = run(runtime, config(), {})

    assert failed is False
    assert result["setting_at_import"] == result["setting_now"] == "one"
    assert result["endpoint"] == ENDPOINT
    assert result["function_name_env"] == "probe"
    context = result["context"]
    assert context["function_name"] == "probe"
    assert context["memory_limit_in_mb"] == 256
    assert context["invoked_function_arn"].endswith(":function:probe:live")
    assert context["aws_request_id"]
    assert 0 < context["remaining_ms"] <= 30_000


def test_warm_invocations_reuse_the_functions_modules(probe_package: str) -> None:
    runtime = LocalLambdaRuntime(ENDPOINT)

    counts = [run(runtime, config(), {})[0]["calls"] for _ in range(3)]

    assert counts == [1, 2, 3]


def test_functions_never_share_module_state_or_settings(probe_package: str) -> None:
    runtime = LocalLambdaRuntime(ENDPOINT)
    first, second = config(setting="one", name="first"), config(setting="two", name="second")

    results = [run(runtime, function, {})[0] for function in (first, second, first, second)]

    assert [r["setting_at_import"] for r in results] == ["one", "two", "one", "two"]
    assert [r["lazy_setting_at_import"] for r in results] == ["one", "two", "one", "two"]  # imported at call time
    assert [r["calls"] for r in results] == [1, 1, 2, 2]


def test_the_process_environment_and_modules_are_restored(probe_package: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "developer-profile")
    monkeypatch.delenv("PROBE_SETTING", raising=False)
    runtime = LocalLambdaRuntime(ENDPOINT)

    result, _ = run(runtime, config(), {})

    assert result["profile"] is None  # the developer's profile never reaches a function
    assert os.environ["AWS_PROFILE"] == "developer-profile"
    assert "PROBE_SETTING" not in os.environ
    assert not any(name == "lm_probe" or name.startswith("lm_probe.") for name in sys.modules)


def test_an_exception_is_a_function_error_named_by_its_class(probe_package: str) -> None:
    runtime = LocalLambdaRuntime(ENDPOINT)

    payload, failed = run(runtime, config(), {"fail": True})

    assert failed is True
    assert payload["errorType"] == "ProbeFailure"
    assert payload["errorMessage"] == "asked to fail"
    assert any("lambda_handler" in line for line in payload["stackTrace"])


@pytest.mark.parametrize(
    ("handler", "error_type"),
    [
        ("lm_probe.missing.lambda_handler", "Runtime.ImportModuleError"),
        ("lm_probe.app.no_such_function", "Runtime.HandlerNotFound"),
        ("lm_probe.broken.lambda_handler", "RuntimeError"),  # an init error keeps its class name, as on AWS
    ],
)
def test_a_function_that_cannot_start_reports_why(probe_package: str, handler: str, error_type: str) -> None:
    runtime = LocalLambdaRuntime(ENDPOINT)

    payload, failed = run(runtime, config(handler=handler), {})

    assert failed is True
    assert payload["errorType"] == error_type


def test_an_unserializable_result_is_a_marshal_error(probe_package: str) -> None:
    payload, failed = run(LocalLambdaRuntime(ENDPOINT), config(), {"unserializable": True})

    assert failed is True
    assert payload["errorType"] == "Runtime.MarshalError"


# --- the runtime behind moto's Lambda API ---------------------------------------------------------------


def invoke(deployment: Deployment, function: str, event: dict[str, Any], **kwargs: Any) -> tuple[Any, str | None]:
    response = deployment.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event), **kwargs)
    body = response["Payload"].read()
    return (json.loads(body) if body else None), response.get("FunctionError")


def stored_item(deployment: Deployment, table: str, item_id: str) -> dict[str, Any] | None:
    key = {"pk": {"S": f"ITEM#{item_id}"}, "sk": {"S": "ITEM"}}
    return deployment.client("dynamodb").get_item(TableName=table, Key=key).get("Item")


def test_invoking_an_alias_runs_the_deployed_handler(deployment: Deployment) -> None:
    response, error = invoke(deployment, deployment.aliases["api"], api_event("POST", "/items", {"name": "lamp"}))

    assert error is None
    assert response["statusCode"] == 201
    item = json.loads(response["body"])
    assert stored_item(deployment, TABLE, item["id"]) is not None


def test_a_handler_exception_reaches_the_caller_with_its_type(deployment: Deployment) -> None:
    job = {"job_id": "0190b3a4-8c1e-7cc3-9d43-4c0d8b9d8f3e", "payload": {"items": []}}

    response, error = invoke(deployment, deployment.aliases["validate"], job)

    assert error == "Unhandled"
    assert response["errorType"] == "JobValidationError"
    assert "payload.items" in response["errorMessage"]
    assert isinstance(response["stackTrace"], list)


def test_two_functions_with_the_same_code_keep_their_own_settings(deployment: Deployment) -> None:
    other_table = "serverless-app-local-other-items"
    deployment.create_table(other_table, stream=False)
    deployment.create_function("api-other", "handlers.api.app.lambda_handler", {
        "TABLE_NAME": other_table, "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE,
        "STATE_MACHINE_ARN": deployment.state_machine_arn})

    main, _ = invoke(deployment, deployment.aliases["api"], api_event("POST", "/items", {"name": "main"}))
    other, _ = invoke(deployment, deployment.aliases["api-other"], api_event("POST", "/items", {"name": "other"}))

    main_id, other_id = json.loads(main["body"])["id"], json.loads(other["body"])["id"]
    assert stored_item(deployment, TABLE, main_id) is not None
    assert stored_item(deployment, other_table, main_id) is None
    assert stored_item(deployment, other_table, other_id) is not None
    assert stored_item(deployment, TABLE, other_id) is None


def test_an_asynchronous_invocation_is_accepted_then_run(deployment: Deployment) -> None:
    event = api_event("POST", "/items", {"name": "later"})
    event["requestContext"]["requestId"] = "async-request"

    response = deployment.client("lambda").invoke(FunctionName=deployment.aliases["api"], InvocationType="Event",
                                                  Payload=json.dumps(event))

    assert response["StatusCode"] == 202
    deadline = time.monotonic() + 10
    names: list[str] = []
    while "later" not in names and time.monotonic() < deadline:
        items = deployment.client("dynamodb").scan(TableName=TABLE)["Items"]
        names = [item.get("name", {}).get("S", "") for item in items]
        time.sleep(0.1)
    assert "later" in names


def test_repository_routes_are_the_route_table() -> None:
    routes = repository_routes()

    assert isinstance(routes, RouteTable)
    assert routes.match("/items/abc") == ("/items/{id}", {"id": "abc"})
    assert routes.is_public("GET", "/health")


# --- the deployed code of the version invoked ---------------------------------------------------------


def answer_zip(answer: str) -> bytes:
    """Code of a function that answers ``answer``: a package that exists only in this zip."""
    return code_zip({"lm_versions/__init__.py": "", "lm_versions/app.py": f"""
def lambda_handler(event, context):
    return {{"answer": {answer!r}, "version": context.function_version}}
"""})


def test_each_version_runs_the_code_it_was_published_with(deployment: Deployment) -> None:
    lam = deployment.client("lambda")
    alias = deployment.create_function("versions", "lm_versions.app.lambda_handler", {}, code=answer_zip("one"))
    lam.update_function_code(FunctionName=f"{PREFIX}-versions", ZipFile=answer_zip("two"))
    second = lam.publish_version(FunctionName=f"{PREFIX}-versions")["Version"]

    first_answer, _ = invoke(deployment, f"{PREFIX}-versions", {}, Qualifier="1")
    second_answer, _ = invoke(deployment, f"{PREFIX}-versions", {}, Qualifier=second)
    live_answer, _ = invoke(deployment, alias, {})

    assert first_answer == {"answer": "one", "version": "1"}
    assert second_answer == {"answer": "two", "version": second}
    assert live_answer == first_answer  # the alias still names version 1


def test_a_zip_without_the_handlers_module_fails_as_on_aws(deployment: Deployment) -> None:
    # The repository has handlers/api/app.py; a function whose zip does not must not run it.
    alias = deployment.create_function("no-code", "handlers.api.app.lambda_handler", {}, code=dummy_zip())

    response, error = invoke(deployment, alias, api_event("GET", "/health"))

    assert error == "Unhandled"
    assert response["errorType"] == "Runtime.ImportModuleError"
    assert "handlers.api.app" in response["errorMessage"]


def test_the_code_cache_extracts_once_and_is_removed() -> None:
    cache = CodeCache()
    function = SimpleNamespace(code_bytes=answer_zip("cached"), code_digest="abc123")

    root = cache.root_for(function)  # type: ignore[arg-type]
    (Path(root) / "marker").write_text("kept")
    again = cache.root_for(function)  # type: ignore[arg-type]
    extracted = sorted(path.relative_to(root).as_posix() for path in Path(root).rglob("*.py"))
    marker_kept = (Path(again) / "marker").exists()
    cache.remove()

    assert again == root and marker_kept  # not extracted a second time
    assert extracted == ["lm_versions/__init__.py", "lm_versions/app.py"]
    assert not cache.directory.exists()


# --- nested invocations: a running hook's synchronous Invoke ------------------------------------------

CALLER_FILES = {
    "lm_nesting/__init__.py": "",
    "lm_nesting/caller.py": """
import base64
import json
import os

import boto3


def lambda_handler(event, context):
    custom = {"DeploymentId": "d-TEST", "LifecycleEventHookExecutionId": event["execution_id"]}
    response = boto3.client("lambda").invoke(
        FunctionName=event["target"], Payload=b"{}",
        ClientContext=base64.b64encode(json.dumps({"custom": custom}).encode()).decode())
    return {"answer": json.loads(response["Payload"].read()), "error": response.get("FunctionError"),
            "caller_setting": os.environ.get("NESTING_SETTING")}
""",
    "lm_nesting/target.py": """
import os


def lambda_handler(event, context):
    return {"custom": context.client_context.custom, "target_setting": os.environ.get("NESTING_SETTING")}
""",
}


@pytest.fixture(scope="module")
def nesting(deployment: Deployment) -> dict[str, str]:
    """A caller that invokes a target synchronously with a hook's ClientContext, and that target
    (timeout 1 s, so waiting for the lock fails fast)."""
    code = code_zip(CALLER_FILES)
    return {
        "caller": deployment.create_function("nesting-caller", "lm_nesting.caller.lambda_handler",
                                             {"NESTING_SETTING": "caller"}, code=code),
        "target": deployment.create_function("nesting-target", "lm_nesting.target.lambda_handler",
                                             {"NESTING_SETTING": "target"}, code=code, timeout=1),
    }


def invoke_in_process(function: str, event: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Invoke through moto's Lambda backend in this thread, as the emulator's CodeDeploy does."""
    headers: dict[str, str] = {}
    payload = lambda_backends[ACCOUNT][REGION].invoke(function, None, json.dumps(event).encode(), {}, headers)
    return json.loads(payload or b"null"), headers.get("x-amz-function-error")


def test_a_running_hooks_invoke_naming_its_execution_runs_nested(nesting: dict[str, str]) -> None:
    started = time.monotonic()
    with running_hook("execution-1"):
        response, error = invoke_in_process(nesting["caller"], {"target": nesting["target"],
                                                                "execution_id": "execution-1"})

    assert error is None
    assert response["error"] is None, response
    assert response["answer"]["custom"] == {"DeploymentId": "d-TEST", "LifecycleEventHookExecutionId": "execution-1"}
    assert response["answer"]["target_setting"] == "target"
    assert response["caller_setting"] == "caller"  # the caller's environment is back after the nested call
    assert time.monotonic() - started < 5
    assert os.environ.get("NESTING_SETTING") is None


@pytest.mark.parametrize(("running", "named"), [("execution-1", "execution-2"), (None, "execution-1")])
def test_any_other_invoke_still_waits_for_the_lock(nesting: dict[str, str], running: str | None,
                                                   named: str) -> None:
    event = {"target": nesting["target"], "execution_id": named}
    if running is None:
        response, _ = invoke_in_process(nesting["caller"], event)
    else:
        with running_hook(running):
            response, _ = invoke_in_process(nesting["caller"], event)

    assert response["error"] == "Unhandled"
    assert response["answer"]["errorType"] == "Sandbox.Timedout"  # it waited for the caller, which held the lock
