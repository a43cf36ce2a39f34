"""Names the handlers share with the infrastructure (`modules/`) and local mode. Import-light
on purpose: no third-party imports, so the synth, the local-mode tools and every Lambda cold
start can read it for free. It ships in every function zip, so it holds runtime facts only:
what exists for local mode or the deploy tools lives in `modules/product_defaults.py`.

The infrastructure reads these as metadata about the runtime (like the routes table);
a value here changes in one place for all.
"""

from __future__ import annotations

# Every function is invoked through this alias (API, workflow, schedule, stream mapping).
LIVE_ALIAS = "live"

# The items table's one global secondary index (keys gsi1pk/gsi1sk).
ITEMS_INDEX = "GSI1"
