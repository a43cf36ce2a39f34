"""Deploy the `local` workspace once per session as `make up` does: an in-process emulator on a
free port, one synth of `local` (+ `bootstrap`), Terraform applied directly on those stacks
(`localmode.deploy`), then the API served on a free localhost port."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
import requests

from localmode import runtime
from localmode.deploy import LocalDeployer
from localmode.emulator import Emulator


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

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)


@pytest.fixture(scope="session")
def local_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBackend]:
    emulator = Emulator(port=0).start()
    deployer = LocalDeployer(emulator.endpoint, outdir=tmp_path_factory.mktemp("cdktf-out"),
                             log=lambda line: print(line, flush=True))
    api = None
    try:
        deployer.deploy()
        api = runtime.start(emulator.endpoint, api_port=0)
        yield LocalBackend(emulator, deployer, api)
    finally:
        if api is not None:
            api.stop()
        deployer.close()
        emulator.stop()
