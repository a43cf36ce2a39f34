"""The warm start on the deployment Terraform made: saved, moto emptied (what a stop does to it), restored,
it is the same deployment: the plan review (`python -m delivery.plan_review`, what `make plan` runs)
says no changes on every local stack, and bootstrap plans none. Those plans also show that the deploy
itself settled (every e2e group works on a restored copy of the session's deployment). Runs before the
tests that change the deployment behind Terraform's back."""

from __future__ import annotations

from pathlib import Path

from delivery.terraform import plugin_cache_dir
from localmode import runtime
from localmode.moto_patches import server as moto_server
from localmode.warm_start import WarmStart
from tests.e2e import plan_variants as pv
from tests.e2e.conftest import LocalBackend


def test_a_restored_deployment_is_the_one_saved(local_backend: LocalBackend, tmp_path: Path) -> None:
    lines: list[str] = []
    created = local_backend.request("POST", "/items", json={"name": "created before the stop"})
    assert created.status_code == 201, created.text
    item = created.json()
    deployer = local_backend.deployer
    stacks = deployer.stacks()
    warm = WarmStart.of(tmp_path / "snapshot", deployer)
    # When the deployment is saved and moto emptied, as a stop leaves it
    assert warm.save(deployer.records, lines.append), lines
    moto_server.reset()
    assert local_backend.client("s3").list_buckets()["Buckets"] == []
    # Then the restore brings back the same deployment
    assert warm.restore(lines.append), lines
    assert any(line.startswith("warm start: restored the deployment saved at") for line in lines), lines
    # Terraform sees no change on any stack: the plan review of the local stacks says so
    code, markdown, document = pv.review(deployer.outdir, tmp_path / "review", plugin_cache_dir())
    assert code == 0, markdown
    assert sorted((s["stack"], s["status"]) for s in document["stacks"]) == sorted(
        (stack.directory.name, "planned") for stack in stacks[1:])
    assert not [change for s in document["stacks"] for change in s["changes"]], markdown
    assert "Exit 0: no changes" in markdown and "[!CAUTION]" not in markdown
    # and bootstrap plans none (its local state restored beside its stack)
    deployer.terraform.init(stacks[0].directory, reconfigure=True)  # a restored deployment was never applied here
    bootstrap = deployer.terraform.run(stacks[0].directory, "plan", "-detailed-exitcode", "-input=false",
                                       "-no-color", "-lock-timeout=60s", check=False)
    assert bootstrap.returncode == 0, bootstrap.stdout[-3000:]
    # The item created before is read after, through the API and the same key
    fetched = local_backend.request("GET", f"/items/{item['id']}")
    assert fetched.status_code == 200 and fetched.json()["name"] == "created before the stop"
    api = runtime.start(local_backend.emulator.endpoint, api_port=0)  # what the next `make up` serves
    try:
        assert api.api_key == local_backend.api.api_key
    finally:
        api.stop()
