"""The plan review (`python -m delivery.plan_review`, what `make plan` runs) with real
Terraform against the deployed `local` workspace, on changed copies of the synth output: one with
a setting and a secret changed, one with two stateful changes, one of them allowed (its review
of the unchanged deployment, no changes, is test_2a_warm_start's). Plans are never
applied, so the deployment is left as it was for the e2e modules after this one (test_3 destroys it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from delivery.terraform import Terraform, plugin_cache_dir
from tests.e2e import plan_variants as pv
from tests.e2e.secret_scan import leaks, plan_secrets, uploaded_files, uploaded_patterns

pytestmark = pytest.mark.e2e

DIGEST = "local-app/app/digest/"
NEW_KEY_VALUE = "plan-review-e2e-new-key-value-000000000001"
REVIEWS: list[tuple[str, dict]] = []  # every review of this module, for the API key check
RUNS: list[tuple[Path, Path]] = []  # (review dir, synth dir) of every review, for the secret scan


@pytest.fixture(scope="module")
def plugin_cache() -> Path:
    # The machine's provider cache, as every other Terraform run of the session uses: filling
    # an empty one copies the provider (about 700 MB, 20 s).
    return plugin_cache_dir()


@pytest.fixture(scope="module")
def run_review(local_backend, plugin_cache, tmp_path_factory):
    def run(synth_dir: Path, allow: str | None = None) -> tuple[int, str, dict]:
        review_dir = tmp_path_factory.mktemp(f"review-{len(REVIEWS)}")
        code, markdown, document = pv.review(synth_dir, review_dir, plugin_cache, allow)
        REVIEWS.append((markdown, document))
        RUNS.append((review_dir, synth_dir))
        return code, markdown, document
    return run


def changes(document: dict) -> dict[str, dict]:
    return {f"{stack['stack']} {change['address']}": change for stack in document["stacks"]
            for change in stack["changes"]}


def stack(document: dict, name: str) -> dict:
    return next(s for s in document["stacks"] if s["stack"] == name)


@pytest.fixture(scope="module")
def function_and_key_review(local_backend, run_review, tmp_path_factory) -> tuple[int, str, dict]:
    """One review of two changes to `local-app`: a setting (the digest function's memory, through
    a synth with that override) and a new value of the API key (no setting sets it: the
    synthesized JSON is edited), each a resource the review must show and nothing else."""
    synth = pv.synth_local(tmp_path_factory.mktemp("memory-and-key"), local_backend.emulator.endpoint,
                           {"app": {"function_overrides": {"digest": {"memory_mb": 1024}}}})

    def new_key(document: dict) -> None:
        key = document["resource"]["aws_api_gateway_api_key"]
        key[next(iter(key))]["value"] = NEW_KEY_VALUE

    pv.edit_stack(synth, "local-app", new_key)
    return run_review(synth)


def test_one_functions_memory_changes_exactly_that_function(function_and_key_review):
    code, markdown, document = function_and_key_review
    assert code == 2, markdown
    changed = changes(document)
    # The function (and its alias, when it points at the version the change publishes); the
    # key, and the usage plan's key entry that refers to it, are the other change of this review.
    key_resources = {"aws_api_gateway_api_key", "aws_api_gateway_usage_plan_key"}
    assert all(key.startswith("local-app ") and (c["construct_path"].startswith(DIGEST) or c["type"] in key_resources)
               for key, c in changed.items())
    assert key_resources <= {c["type"] for c in changed.values()}
    function = next(c for c in changed.values() if c["type"] == "aws_lambda_function")
    assert function["construct_path"] == f"{DIGEST}function" and function["kind"] == "change"
    memory = next(a for a in function["attributes"] if a["path"] == "memory_size")
    assert (memory["before"], memory["after"]) == ("512", "1024")
    assert [s["stack"] for s in document["stacks"] if s["changes"]] == ["local-app"]
    assert f"`{DIGEST}function`" in markdown and "`memory_size`: `512` → `1024`" in markdown


@pytest.fixture(scope="module")
def stateful_changes(local_backend, tmp_path_factory) -> tuple[Path, str, str]:
    """A copy of the synth with two stateful changes to `local-data` (no setting makes either: the
    synthesized JSON is edited): the items table keyed otherwise, which DynamoDB can only do by
    replacing the table, and the idempotency table's code deleted (with what refers to it in its
    stack). Returns the copy and both tables' addresses."""
    synth = pv.copy_synth(local_backend.deployer.outdir, tmp_path_factory.mktemp("stateful") / "out")
    removed: list[str] = []

    def edit(document: dict) -> None:
        pv.change_items_table_key(document)
        removed.append(pv.remove_resource(document, *pv.IDEMPOTENCY_TABLE))
        removed.insert(0, f"aws_dynamodb_table.{pv.resource_name(document, *pv.ITEMS_TABLE)}")

    pv.edit_stack(synth, "local-data", edit)
    return synth, removed[0], removed[1]


def test_a_stateful_change_not_allowed_is_blocked_an_allowed_one_passes_and_the_banner_says_why(
        stateful_changes, run_review):
    # One review, the replacement allowed and the removal not: both gates and the variable that
    # sets them (every stateful change allowed gives exit 2: tests/unit/test_plan_review.py).
    synth, replaced, removed = stateful_changes
    code, markdown, document = run_review(synth, allow=replaced)
    assert code == 3, markdown
    banner = markdown.split("| Stack |")[0]
    assert "[!CAUTION]" in banner
    assert f"allowed: **replace** `{replaced}`" in banner
    assert "(`local-data/data/table`; DynamoDB table" in banner and "forced by `range_key`" in banner
    assert f"**blocked**: **destroy** `{removed}`" in banner
    assert banner.count("**blocked**") == 1
    data = changes(document)
    table = data[f"local-data {replaced}"]
    assert (table["kind"], table["stateful"], table["allowed"]) == ("replace", True, True)
    assert (data[f"local-data {removed}"]["kind"], data[f"local-data {removed}"]["allowed"]) == ("destroy", False)
    assert stack(document, "local-app")["waits_on"] == "local-data"  # the tables' outputs change first


def test_the_api_key_never_appears_in_a_review(local_backend, function_and_key_review):
    # The review of a new key value: the sensitive attribute itself changes, before and after.
    code, markdown, document = function_and_key_review
    assert code == 2, markdown
    key = next(c for c in changes(document).values() if c["type"] == "aws_api_gateway_api_key")
    value = next(a for a in key["attributes"] if a["path"] == "value")
    assert (value["before"], value["after"]) == ("(sensitive)", "(sensitive)")
    assert local_backend.api.api_key
    secrets = (local_backend.api.api_key, NEW_KEY_VALUE)
    for text in [r[0] for r in REVIEWS] + [json.dumps(r[1]) for r in REVIEWS]:
        assert not [s for s in secrets if s in text]


def test_no_secret_in_what_plan_yml_uploads_or_in_the_log(local_backend, plugin_cache):
    """Every file plan.yml's upload steps select (read from the workflow itself) and the
    step's log, of every review above, hold none of the API key values and none of the
    values the saved plans mark sensitive; the saved plans, which do, are not uploaded."""
    terraform = Terraform(plugin_cache=plugin_cache)
    try:
        secrets = {local_backend.api.api_key, NEW_KEY_VALUE}
        for review_dir, synth_dir in RUNS:
            secrets |= plan_secrets(review_dir, synth_dir, terraform)
    finally:
        terraform.close()
    assert local_backend.api.api_key in secrets and len(RUNS) == 2  # the plans' own markers found the key
    patterns = uploaded_patterns("plan.yml")
    uploaded = [path for review_dir, _synth in RUNS for path in uploaded_files(review_dir, patterns)]
    assert sorted({path.suffix for path in uploaded}) == [".json", ".md"]
    logs = [review_dir / pv.LOG for review_dir, _synth in RUNS]
    assert not leaks(uploaded + logs, secrets)
    # The scan finds what is there: the saved plans carry the key in their prior state.
    assert leaks([plan for review_dir, _synth in RUNS for plan in review_dir.glob("*/*.tfplan")], secrets)
