"""Defaults and names shared by the infrastructure (`modules/`), local mode (`localmode/`)
and the handlers. Import-light on purpose: no third-party imports, so the synth, the
local-mode tools and every Lambda cold start can read it for free.

The infrastructure reads these as metadata about the runtime (like the routes table);
a value here changes in one place for all three.
"""

from __future__ import annotations

# Configuration defaults (docs/configuration.md).
DEFAULT_PROJECT = "serverless-app"
DEFAULT_REGION = "us-west-2"
DEFAULT_EMULATOR_ENDPOINT = "http://127.0.0.1:4566"
DEFAULT_LOCAL_API_PORT = 8080

# The embedded emulator accepts any credentials; these are its documented test values.
EMULATOR_ACCESS_KEY_ID = "test"
EMULATOR_SECRET_ACCESS_KEY = "test"

# Every function is invoked through this alias (API, workflow, schedule, stream mapping).
LIVE_ALIAS = "live"

# The items table's one global secondary index (keys gsi1pk/gsi1sk).
ITEMS_INDEX = "GSI1"
