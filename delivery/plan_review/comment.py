"""One pull-request comment from several workspaces' reviews (`<ws>.json`), within
GitHub's comment limit: each workspace gets an equal share of the budget, and its own
renderer shortens its details first, never its summary table or banner.

`python -m delivery.plan_review.comment plan-review/dev.json plan-review/prod.json > comment.md`
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from delivery.plan_review.model import review_from_json
from delivery.plan_review.render import BUDGET, render

MARKER = "<!-- plan-review -->"


def comment(paths: list[Path], footer: str = "") -> str:
    reviews = [review_from_json(json.loads(path.read_text())) for path in paths]
    share = (BUDGET - len(MARKER) - len(footer) - 8) // max(1, len(reviews))
    return "\n\n".join([MARKER, *(render(review, budget=share) for review in reviews), footer]).rstrip() + "\n"


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m delivery.plan_review.comment <ws>.json [...]", file=sys.stderr)
        return 1
    sys.stdout.write(comment([Path(p) for p in argv]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
