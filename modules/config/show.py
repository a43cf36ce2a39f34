"""`make config WORKSPACE=<ws>`: the effective settings of a workspace, one key a line, each
with where its value came from: `default` (modules/config/defaults.py, or the model's own
default), the file (config/<ws>.toml), LOCAL_DIFFERENCES (local only) or the environment
variable. Exit 2 with every problem when the configuration is invalid.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

from modules.config.loading import Resolved, leaves, resolve
from modules.config_errors import ConfigError


def lines(resolved: Resolved) -> list[str]:
    """`key = value  source` for every value, keys in the models' order."""
    tree = resolved.settings.model_dump(mode="json", exclude={"workspace"})
    rows = [(".".join(path), json.dumps(value), resolved.source_of(path)) for path, value in leaves(tree)]
    # Aligned for the short values; a long one (a reason) pushes its own source out.
    width = min(60, max(len(f"{key} = {value}") for key, value, _source in rows))
    return [f"{f'{key} = {value}':<{width}}  # {source}" for key, value, source in rows]


def main(argv: list[str], environ: Mapping[str, str]) -> int:
    if len(argv) != 1:
        print("usage: make config WORKSPACE=<ws> (local, dev, staging or prod)", file=sys.stderr)
        return 2
    try:
        resolved = resolve(argv[0], environ)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"# {argv[0]}: effective settings, each with its source (default, file or environment variable)")
    print("\n".join(lines(resolved)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
