"""What a patch of moto is, how it is checked against the installed moto, and how it is undone.

Every change local mode makes to moto's behaviour is a :class:`Patch` declared in the module of its
AWS service (``lambda_``, ``codedeploy``, ``stepfunctions``, ``server``) and listed in
:data:`localmode.moto_patches.registry.REGISTRY`. A patch names the moto class and attribute it touches,
what it does to it, and, for an attribute moto has, the signature it had in the moto version the patch
was written against (:data:`MOTO_VERSION`). :meth:`Patch.problems` compares that with the installed moto;
:meth:`PatchSet.apply` refuses a patch with problems, so a moto upgrade that changes a patched
internal stops the emulator at start with the patch's name and the moto symbol, instead of breaking
somewhere else later.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

MOTO_VERSION = "5.2.5"  # the moto every patch was written against (Pipfile pins it)

# wraps: moto's attribute is replaced by a function that calls it; replaces: by one that does not;
# adds: an operation moto lacks (the attribute must not exist); overrides: a subclass redefines it;
# reads: an internal attribute read, not changed (it must exist; it has no signature to compare).
Kind = Literal["wraps", "replaces", "adds", "overrides", "reads"]


_ORIGINAL = "__moto_original__"  # set on an applied patch's function: what moto had there (None: nothing)


class MotoChanged(RuntimeError):
    """moto no longer has the shape a patch was written against."""


@dataclass(frozen=True)
class Patch:
    """One change of moto's behaviour: ``owner.attribute``, how, and why."""

    name: str
    owner: Any  # a moto class, or a moto module for a module-level function
    attribute: str
    kind: Kind
    signature: str | None  # str(inspect.signature(...)) in MOTO_VERSION; None for "adds"
    why: str

    @property
    def symbol(self) -> str:
        """The moto symbol, e.g. ``moto.awslambda.models.LambdaFunction.invoke``."""
        if isinstance(self.owner, type):
            return f"{self.owner.__module__}.{self.owner.__qualname__}.{self.attribute}"
        return f"{self.owner.__name__}.{self.attribute}"

    def problems(self) -> list[str]:
        """How the installed moto differs from the one this patch was written against ([]: none)."""
        where = f"moto patch {self.name!r} ({self.symbol}, written against moto {MOTO_VERSION})"
        current = getattr(self.owner, self.attribute, None)
        moto_own = getattr(current, _ORIGINAL, current)  # while the patch is applied: what moto had
        if self.kind == "adds":
            return [f"{where}: moto now has {self.attribute}; remove the patch or make it wrap moto's"] \
                if moto_own is not None else []
        if moto_own is None:
            return [f"{where}: moto has no {self.attribute} any more"]
        if self.kind == "reads":
            return []
        try:
            found = str(inspect.signature(moto_own))
        except (TypeError, ValueError) as err:
            return [f"{where}: the signature cannot be read ({err})"]
        if found != self.signature:
            return [f"{where}: the signature is {found}, the patch expects {self.signature}"]
        return []


class PatchSet:
    """Patches applied to moto's classes, undone together (last applied, first undone)."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def apply(self, patch: Patch, value: Callable[..., Any]) -> Any:
        """Set ``patch.owner.attribute`` to ``value``; return what was there (None for "adds").
        :class:`MotoChanged` when moto no longer has the shape the patch was written against."""
        if patch.kind in ("overrides", "reads"):
            raise ValueError(f"{patch.name} {patch.kind} moto's attribute: nothing to apply")
        problems = patch.problems()
        if problems:
            raise MotoChanged("; ".join(problems))
        owner, attribute = patch.owner, patch.attribute
        setattr(value, _ORIGINAL, getattr(owner, attribute, None))
        if patch.kind == "adds":
            setattr(owner, attribute, value)
            self._undo.append(lambda: delattr(owner, attribute))
            return None
        original = vars(owner).get(attribute)
        previous = getattr(owner, attribute)
        setattr(owner, attribute, value)
        self._undo.append(lambda: setattr(owner, attribute, original) if original is not None
                          else delattr(owner, attribute))
        return previous

    def undo(self) -> None:
        """Restore moto as it was before :meth:`apply`."""
        while self._undo:
            self._undo.pop()()
