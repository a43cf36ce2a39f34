"""The product's own defaults that configuration, local mode and the delivery tools share: its
name and region, and how the `local` workspace reaches the embedded emulator.

Infrastructure-side on purpose: nothing here ships in a function zip (the handlers read their
settings, endpoint included, from their environment), and import-light (no third-party imports)
so every tool can read it for free.
"""

from __future__ import annotations

# Configuration defaults (docs/configuration.md).
DEFAULT_PROJECT = "serverless-app"
DEFAULT_REGION = "us-west-2"
DEFAULT_EMULATOR_ENDPOINT = "http://127.0.0.1:4566"

# The embedded emulator accepts any credentials; these are its documented test values.
EMULATOR_ACCESS_KEY_ID = "test"
EMULATOR_SECRET_ACCESS_KEY = "test"
