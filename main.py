"""Synthesize the product: one set of layer stacks per workspace, plus `bootstrap`.

Configuration is validated before anything is built, so a bad value leaves no output.
"""

from __future__ import annotations

import os
import sys

from modules.config import ConfigError, load_settings


def main() -> int:
    try:
        workspaces = load_settings(os.environ)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # Imported after validation: loading the provider bindings takes seconds.
    from modules.app_builder import build_app

    app = build_app(workspaces)
    app.synth()
    for stack in app.node.children:
        print(f"synthesized stack {stack.node.id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
