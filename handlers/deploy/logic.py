"""The pre-traffic verdict: invoke each new version with its smoke check and compare the answer.

Pure of AWS: the adapters are passed in, so the verdict rules are tested without CodeDeploy.
A version passes only when it answers exactly as its check expects; anything else (another
status, another error, a success where a refusal was expected, a failed invocation, a function
without a check) fails it, because a hook that approves what it could not check defeats itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from handlers.shared.aws.deployments import LambdaTarget
from handlers.shared.aws.function_versions import Invocation
from handlers.shared.settings import SmokeCheck


class VersionInvoker(Protocol):
    def invoke(self, name: str, version: str, event: Mapping[str, Any],
               client_context: Mapping[str, str]) -> Invocation: ...


@dataclass(frozen=True)
class CheckResult:
    function: str
    version: str
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"function": self.function, "version": self.version, "passed": self.passed, "detail": self.detail}


def judge(check: SmokeCheck, answer: Invocation) -> tuple[bool, str]:
    """Whether an answer is what the check expects, and what was seen."""
    if check.error_type is not None:
        if answer.error_type == check.error_type:
            return True, f"refused the invalid event with {answer.error_type}"
        seen = f"error {answer.error_type}" if answer.function_error else "success"
        return False, f"expected error {check.error_type}, got {seen}: {_excerpt(answer.payload)}"
    if answer.function_error:
        return False, f"expected status {check.status_code}, got error {answer.error_type}: {_excerpt(answer.payload)}"
    status = answer.payload.get("statusCode") if isinstance(answer.payload, dict) else None
    if status == check.status_code:
        return True, f"answered {status}"
    return False, f"expected status {check.status_code}, got {status}: {_excerpt(answer.payload)}"


def check_targets(targets: list[LambdaTarget], checks: Mapping[str, SmokeCheck], invoker: VersionInvoker,
                  client_context: Mapping[str, str]) -> list[CheckResult]:
    """Run every target version's smoke check; an invocation that fails is a failed check."""
    results = []
    for target in targets:
        check = checks.get(target.name)
        if check is None:
            results.append(CheckResult(target.name, target.target_version, False, "no smoke check for this function"))
            continue
        try:
            answer = invoker.invoke(target.name, target.target_version, check.event, client_context)
        except Exception as err:  # the verdict must still be reported: CodeDeploy waits for it
            results.append(CheckResult(target.name, target.target_version, False,
                                       f"invocation failed: {type(err).__name__}: {err}"))
            continue
        passed, detail = judge(check, answer)
        results.append(CheckResult(target.name, target.target_version, passed, detail))
    return results


def verdict(results: list[CheckResult]) -> Literal["Succeeded", "Failed"]:
    """Succeeded only when there was something to check and every check passed."""
    return "Succeeded" if results and all(result.passed for result in results) else "Failed"


def _excerpt(payload: Any, limit: int = 300) -> str:
    text = str(payload)
    return text if len(text) <= limit else text[:limit] + "..."
