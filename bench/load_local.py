"""Load script for local mode: N requests from C concurrent clients against the running API.

Prints error count, throughput, p50 and p99. Targets `make up` (reads .local/api.json) or
--url/--api-key. Traffic goes to the given loopback URL only; the run is bounded by N.

Run: .venv/bin/python bench/load_local.py --requests 2000 --concurrency 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import requests

API_FILE = Path(__file__).resolve().parent.parent / ".local" / "api.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--url")
    parser.add_argument("--api-key")
    args = parser.parse_args()
    target = json.loads(API_FILE.read_text()) if API_FILE.exists() else {}
    url, key = args.url or target.get("url"), args.api_key or target.get("api_key")
    if not url or not key:
        raise SystemExit("no running local API: start `make up` or pass --url and --api-key")
    if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load script only targets the local API on loopback")
    local = threading.local()
    created: list[str] = []

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.headers["x-api-key"] = key
        return local.session

    def one(i: int) -> tuple[float, bool]:
        # A realistic mix: 1 create for every 3 reads (get of a created item, or a list page).
        started = time.perf_counter()
        if i % 4 == 0 or not created:
            response = session().post(f"{url}/items", json={"name": f"load-{uuid.uuid4().hex[:8]}"}, timeout=30)
            if response.status_code == 201:
                created.append(response.json()["id"])
        elif i % 4 == 1:
            response = session().get(f"{url}/items", params={"limit": 20}, timeout=30)
        else:
            response = session().get(f"{url}/items/{created[i % len(created)]}", timeout=30)
        return time.perf_counter() - started, response.status_code >= 500 or response.status_code in (403, 404)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        results = list(pool.map(one, range(args.requests)))
    elapsed = time.perf_counter() - started
    latencies = sorted(r[0] * 1000 for r in results)
    errors = sum(1 for r in results if r[1])
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"requests {args.requests}  concurrency {args.concurrency}  errors {errors}")
    print(f"throughput {args.requests / elapsed:8.1f} req/s   wall {elapsed:6.1f} s")
    print(f"latency p50 {statistics.median(latencies):7.2f} ms   p99 {p99:7.2f} ms")


if __name__ == "__main__":
    main()
