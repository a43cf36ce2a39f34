"""The AWS of the ``local`` workspace: a moto server in this process, with Lambda code run in-process.

In-process, because moto's Lambda invocations are routed to :mod:`localmode.lambda_runtime`, which runs
the handlers in the process that hosts moto. Starting an :class:`Emulator`

* turns on moto's Step Functions execution mode (``{"stepfunctions": {"execute_state_machine": True}}``:
  executions really run the ASL with moto's interpreter, ``moto.stepfunctions.parser``; its Task
  states call Lambda through the Invoke API at ``localhost:$MOTO_PORT``, so ``MOTO_PORT`` is set to
  the server's port) and keeps moto's Docker Lambda backend selected (``{"lambda": {"use_docker": True}}``:
  the "simple" backend would answer invocations without calling ``LambdaFunction.invoke``);
* installs the in-process Lambda runtime, the DynamoDB stream delivery (:mod:`localmode.stream_mapping`)
  and CodeDeploy's missing operations and Lambda deployments (:mod:`localmode.codedeploy`; a hook must
  report within ``hook_timeout_seconds``, ``--hook-timeout`` on the command line).

moto's state and configuration are process-wide, so there is one running emulator per process (a second
``start`` is refused) and each start begins with an empty AWS (moto's backends are reset: resources of an
earlier emulator in the same process would otherwise reappear). Stopping it restores the configuration
and frees the port.

CLI: ``python -m localmode.emulator [--host 127.0.0.1] [--port 4566] [--api-port 8080] [--hook-timeout 120]``
runs in the foreground until Ctrl-C. With ``--api-port`` it also serves the API (see :mod:`localmode.runtime`) as
soon as Terraform has deployed the API function and its key.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from localmode import codedeploy, lambda_runtime, runtime, stream_mapping
from localmode.moto_patches import lambda_ as moto_lambda
from localmode.moto_patches import server as moto_server
from localmode.moto_patches import stepfunctions as moto_stepfunctions
from localmode.moto_patches.patch import PatchSet
from localmode.startup import DEFAULT_ENDPOINT, EmulatorError, endpoint_from_environment, stop_event_on_signals

__all__ = ["DEFAULT_ENDPOINT", "Emulator", "EmulatorError", "endpoint_from_environment", "stop_event_on_signals"]
_MOTO_CONFIG: dict[str, dict[str, Any]] = {"stepfunctions": {"execute_state_machine": True},
                                           "lambda": {"use_docker": True}}


class Emulator:
    """A moto server on ``host:port`` (port 0: any free port) with the local-mode hooks installed."""

    _running: Emulator | None = None  # the one emulator of this process (moto's state is process-wide)

    def __init__(self, host: str = "127.0.0.1", port: int = urlsplit(DEFAULT_ENDPOINT).port or 4566, *,
                 verbose: bool = False, hook_timeout_seconds: float = codedeploy.DEFAULT_HOOK_TIMEOUT_SECONDS) -> None:
        self.host, self.port, self.verbose = host, port, verbose
        self.hook_timeout_seconds = hook_timeout_seconds
        self._server: moto_server.GuardedServer | None = None
        self._undo: list[Callable[[], None]] = []

    @property
    def endpoint(self) -> str:
        """``http://host:port`` of the running server (a wildcard address is reached on 127.0.0.1)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Emulator:
        """Configure moto, start the server and install the hooks; return self."""
        if self._server is not None or self._undo:
            raise RuntimeError("the emulator is already running")
        if Emulator._running is not None:
            raise RuntimeError(f"another emulator is running in this process ({Emulator._running.endpoint}): "
                               "moto's state is process-wide, so stop it first or use it")
        Emulator._running = self
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        if not self.verbose:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._undo.append(moto_server.configure(_MOTO_CONFIG))
        moto_server.reset()
        self._server = _listening_server(self.host, self.port)
        server = self._server
        self.port = server.get_host_and_port()[1]
        previous_port = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(self.port)
        self._undo.append(lambda: _restore_env("MOTO_PORT", previous_port))
        fixes = PatchSet()
        self._undo.append(fixes.undo)
        moto_server.install(fixes)
        moto_lambda.install_fixes(fixes)
        moto_stepfunctions.install(fixes)
        self._undo.append(lambda_runtime.install(self.endpoint))
        self._undo.append(stream_mapping.install())
        self._undo.append(codedeploy.install(hook_timeout_seconds=self.hook_timeout_seconds))

    def stop(self) -> None:
        """Stop the server (the port is free on return) and undo every hook."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            # ThreadedMotoServer.stop() leaves the listening socket open until garbage collection.
            wsgi_server = getattr(server, "_server", None)
            if wsgi_server is not None:
                wsgi_server.server_close()
        while self._undo:
            self._undo.pop()()
        if Emulator._running is self:
            Emulator._running = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listening_server(host: str, port: int) -> moto_server.GuardedServer:
    """A started moto server; :class:`EmulatorError` when it cannot listen."""
    server = moto_server.GuardedServer(ip_address=host, port=port, verbose=False)
    server.start()
    if server.failure is not None:
        raise EmulatorError(f"the emulator cannot listen on {host}:{port} ({server.failure}): stop the program "
                            "using that port or set EMULATOR_ENDPOINT to another port, e.g. http://127.0.0.1:4567")
    return server


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def main(argv: list[str] | None = None) -> int:
    """Run the emulator (and optionally the API) in the foreground until Ctrl-C or SIGTERM."""
    host, port = endpoint_from_environment()
    parser = argparse.ArgumentParser(prog="python -m localmode.emulator", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default=host, help=f"address to bind (default {host})")
    parser.add_argument("--port", type=int, default=port, help=f"port to bind (default {port})")
    parser.add_argument("--api-port", type=int, help="also serve the API here once it is deployed")
    parser.add_argument("--hook-timeout", type=float, default=codedeploy.DEFAULT_HOOK_TIMEOUT_SECONDS,
                        help="seconds a CodeDeploy hook has to report its status (default %(default)g)")
    parser.add_argument("--verbose", action="store_true", help="log every emulator request")
    args = parser.parse_args(argv)
    stopped = stop_event_on_signals()
    with Emulator(args.host, args.port, verbose=args.verbose, hook_timeout_seconds=args.hook_timeout) as emulator:
        print(f"AWS emulator on {emulator.endpoint} (Ctrl-C to stop)", flush=True)
        api = None
        if args.api_port is not None:
            api = runtime.start_when_deployed(emulator.endpoint, api_port=args.api_port, stopped=stopped)
        stopped.wait()
        if api is not None:
            api.stop()
    print("AWS emulator stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
