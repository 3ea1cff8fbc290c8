"""Benchmark: requests/s and latency percentiles of an authenticated list endpoint (GET /v2/events)
in service mode (uvicorn + PostgreSQL + Redis), under concurrency. Run on demand:

    make bench                      # or: .venv/bin/python bench/api_overhead.py --concurrency 16 --seconds 15

It creates its own database (revkeen_bench) and uses Redis db 9. The rate limits are raised for the
run (the token-bucket script still runs on every request, so its cost is included). Every request
is authenticated, tenant-scoped, counted (pagination total) and serialized: the full API overhead.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

SETUP = """
from apps.accounts.models import Merchant
from apps.core.actors import Actor
from apps.core.events import emit_event
from apps.core.tenancy import Tenant
from tests.factories import make_api_key, make_merchant
Merchant.objects.filter(slug__startswith="bench").delete() if False else None
merchant = make_merchant(name="Bench Ltd")
tenant = Tenant(merchant, False)
for i in range({rows}):
    emit_event(tenant=tenant, type="customer.created", data={{"id": f"cus_{{i}}", "object": "customer", "email": f"c{{i}}@example.com"}}, actor=Actor.system())
print("KEY=" + make_api_key(merchant, name="bench"))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_database(name: str) -> None:
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--rows", type=int, default=200, help="events in the tenant (the list returns 25)")
    args = parser.parse_args()

    env = dict(os.environ)
    env.update(DATABASE_URL="postgres://postgres@127.0.0.1:5432/revkeen_bench", REDIS_URL="redis://127.0.0.1:6379/9",
               DJANGO_SETTINGS_MODULE="revkeen.settings", DJANGO_DEBUG="0", LOG_LEVEL="WARNING",
               RATE_LIMIT_SANDBOX_PER_MIN="100000000", RATE_LIMIT_SANDBOX_BURST="100000000")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ensure_database("revkeen_bench")
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run([PY, "manage.py", "shell", "-c", SETUP.format(rows=args.rows)], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    key = next(line[4:] for line in out.splitlines() if line.startswith("KEY="))

    port = free_port()
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), "revkeen.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(args.workers), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}/v2/events"
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if httpx.get(url, headers={"x-api-key": key}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise SystemExit("server did not come up")

        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        budget = [args.max_requests]
        stop_at = 0.0

        def worker():
            nonlocal errors
            local, bad = [], 0
            with httpx.Client(headers={"x-api-key": key}, timeout=10) as client:
                while time.perf_counter() < stop_at:
                    with lock:
                        if budget[0] <= 0:
                            break
                        budget[0] -= 1
                    start = time.perf_counter()
                    response = client.get(url)
                    local.append(time.perf_counter() - start)
                    if response.status_code != 200:
                        bad += 1
            with lock:
                latencies.extend(local)
                errors += bad

        # Warm up (connections, worker imports), then measure.
        for _ in range(50):
            httpx.get(url, headers={"x-api-key": key})
        started = time.perf_counter()
        stop_at = started + args.seconds
        threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)

    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(f"GET /v2/events (25 of {args.rows} rows), uvicorn x{args.workers}, PostgreSQL + Redis, "
          f"concurrency {args.concurrency}, {elapsed:.1f}s")
    print(f"  requests: {len(latencies)}  errors: {errors}")
    print(f"  throughput: {len(latencies) / elapsed:.0f} req/s")
    print(f"  latency ms: p50 {q[49] * 1000:.1f}  p95 {q[94] * 1000:.1f}  p99 {q[98] * 1000:.1f}  "
          f"max {latencies[-1] * 1000:.1f}")


if __name__ == "__main__":
    main()
