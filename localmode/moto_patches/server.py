"""The moto server and moto's configuration (written against moto 5.2.5).

Public extension points only, except :class:`GuardedServer` and :func:`install`:

* :func:`configure`: moto's documented configuration, the sections ``mock_aws(config=...)`` and
  ``POST /moto-api/config`` set (``moto.core.config.default_user_config``); restored by the returned undo.
* :func:`reset`: moto's reset of every backend (what ``POST /moto-api/reset`` does).
* :class:`GuardedServer`: moto's public :class:`~moto.server.ThreadedMotoServer`, whose ``start()`` waits
  forever when its server thread cannot bind; the subclass overrides the thread's entry
  (``_server_entry``, private) to report the failure to the starting thread.
* :func:`install`: moto's server finds the service of every request among the folders of its
  package, listed again for each request (``moto.backends.list_of_moto_modules``: a directory
  listing and a ``stat`` per entry, about 0.4 ms of CPU, under the dispatcher's lock); the
  emulator lists them once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from moto import backends
from moto.core.config import default_user_config
from moto.moto_api._internal.models import moto_api_backend
from moto.server import ThreadedMotoServer

from localmode.moto_patches.patch import Patch, PatchSet

SERVER_ENTRY = Patch(
    "server.bind_failure_reported", ThreadedMotoServer, "_server_entry", "overrides", "(self) -> None",
    "a port that cannot be bound fails start() with the reason instead of waiting forever")
MODULES_LISTED_ONCE = Patch(
    "server.modules_listed_once", backends, "list_of_moto_modules", "wraps", "() -> collections.abc.Iterable[str]",
    "the folders of moto's package are listed once, not on every request (0.4 ms of CPU each)")
PATCHES = (SERVER_ENTRY, MODULES_LISTED_ONCE)


def install(patches: PatchSet) -> None:
    """moto's list of its service modules, read once (it changes only with the installed moto)."""
    modules = tuple(backends.list_of_moto_modules())
    patches.apply(MODULES_LISTED_ONCE, lambda: modules)


class GuardedServer(ThreadedMotoServer):
    """A moto server whose :meth:`start` returns when the server thread fails; see :attr:`failure`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.failure: BaseException | None = None

    def _server_entry(self) -> None:
        try:
            super()._server_entry()
        except BaseException as err:  # reported to the starting thread (start() returns)
            self.failure = err
            self._server_ready_event.set()


def configure(sections: dict[str, dict[str, Any]]) -> Callable[[], None]:
    """Merge ``sections`` into moto's configuration; return the function that restores it."""
    config = cast(dict[str, dict[str, Any]], default_user_config)
    saved = {section: dict(config.get(section, {})) for section in sections}
    for section, values in sections.items():
        config[section] = {**config.get(section, {}), **values}
    return lambda: config.update(saved)


def reset() -> None:
    """Empty every moto backend."""
    moto_api_backend.reset()
