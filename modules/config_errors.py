"""The error every configuration problem is raised with: one line per problem naming the
file or variable (or workspace setting), the key, the value and what is allowed. Apart
from modules/config/ so the packaging (modules/bytecode.py) can raise it without loading
the settings models."""

from __future__ import annotations


class ConfigError(ValueError):
    """Raised with one line per configuration problem: field, value, what is allowed."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  - {p}" for p in problems))
