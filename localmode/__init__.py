"""Local mode: the ``local`` workspace's AWS, run on this machine, and its API on localhost.

Terraform deploys the ``local`` workspace into a moto server; moto cannot run Lambda code without
Docker, so this package runs the emulator in-process and executes every Lambda invocation in that
process, with the code of the function version invoked (its deployed zip). Nothing here describes
infrastructure: what runs is what Terraform deployed (code, handler strings, environment variables,
aliases, state machine, mappings, CodeDeploy groups).

Modules
=======
``emulator``        :class:`~localmode.emulator.Emulator`: moto server + hooks; CLI
                    ``python -m localmode.emulator [--port 4566] [--api-port 8080]``.
``lambda_runtime``  moto's Lambda invocations -> the deployed ``handler`` in-process (per-function
                    module isolation, Lambda error payloads).
``stream_mapping``  DynamoDB stream -> Lambda mappings delivered asynchronously with partial batch failures.
``codedeploy``      Lambda deployments carried out (hooks, alarms, the alias moved at once, rollbacks);
                    ``codedeploy.wait_idle()`` (tests).
``moto_patches``    every change made to moto, one module per AWS service, with its registry.
``api_server``      API Gateway REST proxy (payload 1.0) on localhost with API key enforcement.
``runtime``         :func:`~localmode.runtime.start`: serve the deployed API.

API for orchestration (``make up``, e2e tests)
==============================================
::

    from localmode.emulator import Emulator
    from localmode import runtime, stream_mapping

    with Emulator(port=4566) as emulator:          # port=0: any free port (tests)
        ...  # terraform init/apply with every provider endpoint = emulator.endpoint
        api = runtime.start(emulator.endpoint, api_port=8080)   # finds function, key, REST API
        requests.get(f"{api.url}/items", headers={"x-api-key": api.api_key})
        stream_mapping.wait_idle()                  # stream records delivered (tests)
        api.stop()

``runtime.start(endpoint=None, *, api_port=8080, api_key=None, host="127.0.0.1", project=None,
workspace="local", region=None, verbose=False) -> LocalApi`` (``url``, ``api_key``,
``function_name``, ``stop()``) raises :class:`~localmode.runtime.NotDeployed` until Terraform has
created the api function and the API key; ``runtime.start_when_deployed`` waits for them in the
background. The emulator must run in the process that should execute the handlers; the API server only
needs its endpoint.

Behaviour that differs from AWS, on purpose or because moto cannot do it, is listed in each module.
"""
