"""Key layout of the single table (see :mod:`handlers.shared.aws`), shared by the adapters.

Not an adapter itself (no AWS_SERVICE, no calls): importing it grants nothing. The index name
(``ITEMS_INDEX``) is shared with the infrastructure, in :mod:`handlers.shared.constants`.
"""

from __future__ import annotations

ITEM_PK_PREFIX = "ITEM#"
ITEM_SK = "ITEM"
ITEMS_INDEX_PK = "ITEM"

JOB_PK_PREFIX = "JOB#"
JOB_SK = "JOB"
