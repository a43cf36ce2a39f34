"""What starting local mode needs before anything heavy: the emulator's address from
``EMULATOR_ENDPOINT`` (validated) and the stop event for Ctrl-C/SIGTERM. Import-light (no moto),
so ``make up`` checks its input at once."""

from __future__ import annotations

import os
import signal
import threading
import types
from urllib.parse import urlsplit

from modules.product_defaults import DEFAULT_EMULATOR_ENDPOINT

DEFAULT_ENDPOINT = DEFAULT_EMULATOR_ENDPOINT
DEFAULT_LOCAL_API_PORT = 8080  # the local API server (LOCAL_API_PORT)


def endpoint_from_environment() -> tuple[str, int]:
    """Host and port of ``EMULATOR_ENDPOINT`` (default ``http://127.0.0.1:4566``).

    Raises :class:`EmulatorError` naming the variable when it is not ``http://host:port``."""
    value = os.environ.get("EMULATOR_ENDPOINT") or DEFAULT_ENDPOINT
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "http" or not parts.hostname or port is None or not 0 < port < 65536:
        raise EmulatorError(f"EMULATOR_ENDPOINT={value!r} is not http://host:port with a port from 1 to 65535; "
                            f"set it like {DEFAULT_ENDPOINT} or unset it")
    return parts.hostname, port


class EmulatorError(RuntimeError):
    """The emulator cannot start (a bad endpoint, or its port is taken); the message says what to do."""


def stop_event_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, so foreground commands shut down cleanly."""
    stopped = threading.Event()

    def on_signal(signum: int, frame: types.FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stopped
