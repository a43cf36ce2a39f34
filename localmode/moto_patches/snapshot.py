"""moto's backends as bytes and back: what the warm start saves and restores (written against moto 5.2.5).

:func:`capture` pickles every service backend moto holds (``BackendDict._instances``, the list moto's own
reset walks, read here and declared in :data:`PATCHES` so a moto that renames it stops the emulator with the
patch's name) keyed by where moto keeps them (module and attribute), account and region; :func:`restore`
puts them back through that ``BackendDict``'s own ``[account][region]``. Four kinds of object in moto's models cannot be
pickled as they are, and a :class:`pickle.Pickler` ``reducer_override`` (the documented hook) rebuilds them:
locks and conditions (new, unheld: nothing runs while a snapshot is taken), ``weakref.WeakValueDictionary``
(Lambda's ARN index: rebuilt from its items, which the backend holds strongly), a ``defaultdict`` whose
factory is a lambda (Lambda's aliases: missing values become copies of what the factory returns) and KMS
key material (``cryptography`` keys: saved as DER, loaded back).

A snapshot is trusted like the checkout it sits in: it is written by this code, into ``.local/``, and its
integrity (not its author) is checked by the caller (:mod:`localmode.warm_start`).
"""

from __future__ import annotations

import copy
import functools
import importlib
import io
import pickle
import sys
import threading
import weakref
from collections import defaultdict
from typing import Any

from cryptography.hazmat.primitives import serialization
from moto.core.base_backend import BackendDict

from localmode.moto_patches import server as moto_server
from localmode.moto_patches.patch import Patch

BACKENDS_IN_USE = Patch(
    "snapshot.backends_in_use", BackendDict, "_instances", "reads", None,
    "the warm start saves every backend moto holds, the list moto's own reset walks")
PATCHES = (BACKENDS_IN_USE,)

Key = tuple[str, str, str, str]  # the backends' module and attribute, account, region
_LOCK_TYPES = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}


class SnapshotError(RuntimeError):
    """moto's state cannot be saved or restored; the message names the service and why."""


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in _LOCK_TYPES:
            return _LOCK_TYPES[kind], ()
        if kind is threading.Condition:
            return threading.Condition, ()
        if kind is weakref.WeakValueDictionary:
            return weakref.WeakValueDictionary, (dict(obj.items()),)
        if kind is defaultdict and "<locals>" in getattr(obj.default_factory, "__qualname__", ""):
            return _defaultdict_of_copies, (obj.default_factory(), dict(obj))
        if kind.__module__.startswith("cryptography.") and hasattr(obj, "private_bytes"):
            der = obj.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            return _private_key, (der,)
        if kind.__module__.startswith("cryptography.") and hasattr(obj, "public_bytes"):
            return _public_key, (
                obj.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),)
        return NotImplemented


def _defaultdict_of_copies(default: Any, items: dict[Any, Any]) -> defaultdict[Any, Any]:
    """A defaultdict whose missing values are copies of ``default``: what a ``lambda: {}`` factory does."""
    return defaultdict(functools.partial(copy.deepcopy, default), items)


# cryptography's loaders are built-ins of a Rust module that pickle cannot name: these wrappers it can.
def _private_key(der: bytes) -> Any:
    return serialization.load_der_private_key(der, None)


def _public_key(der: bytes) -> Any:
    return serialization.load_der_public_key(der)


def capture() -> bytes:
    """Every backend moto holds, pickled. :class:`SnapshotError` names a service that cannot be."""
    problems = BACKENDS_IN_USE.problems()
    if problems:
        raise SnapshotError("; ".join(problems))
    backends: dict[Key, Any] = {}
    for backend_dict in list(getattr(BackendDict, BACKENDS_IN_USE.attribute)):
        where = _found_at(backend_dict)
        for account, region, backend in backend_dict.iter_backends():
            backends[(*where, account, region)] = backend
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(backends)
    except (TypeError, AttributeError, pickle.PicklingError) as err:
        raise SnapshotError(f"moto's state cannot be saved ({err})") from err
    return buffer.getvalue()


def restore(data: bytes) -> int:
    """Replace moto's state by a :func:`capture`; the number of backends restored. On any failure
    moto is reset (empty) before :class:`SnapshotError` is raised: never a half-restored emulator."""
    moto_server.reset()
    try:
        backends: dict[Key, Any] = pickle.loads(data)  # noqa: S301 (our own file; see the module's docstring)
        for (module, name, account, region), backend in backends.items():
            getattr(importlib.import_module(module), name)[account][region] = backend
    except Exception as err:
        moto_server.reset()
        raise SnapshotError(f"the saved state cannot be loaded ({type(err).__name__}: {err})") from err
    return len(backends)


def _found_at(backend_dict: BackendDict[Any]) -> tuple[str, str]:
    """(module, attribute) of a service's backends, e.g. ``("moto.sqs.models", "sqs_backends")``: the
    service name is not enough (Step Functions has two, the classic one and the parser's)."""
    module = sys.modules[backend_dict.backend.__module__]
    for name, value in vars(module).items():
        if value is backend_dict:
            return module.__name__, name
    raise SnapshotError(f"moto's {backend_dict.service_name} backends are not found in {module.__name__}: not saved")
