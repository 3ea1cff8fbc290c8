"""Benchmark: checkout session creation (`POST /v2/checkout-sessions`) and the hosted checkout page
(`GET /checkout/<cs_…>`) under N concurrent clients, in service mode; prints p50/p95/p99 per endpoint.

    .venv/bin/python bench/checkout.py --concurrency 8 --seconds 20

Service mode as deployed: uvicorn workers (PostgreSQL + Redis), debug off. Phase 1 (half the time) creates
sessions for a one-time price through the API: authentication, rate limit, idempotency record, the
session with its items and totals, the `checkout.session.created` event. Phase 2 (the other half) renders
the hosted page of those sessions round-robin, as buyers opening their links would: the session, its
items, the merchant's branding and checkout settings, a per-response CSP nonce, the page template.
Latencies are measured by the client over loopback (no network in between), so they are the server's time
plus a fraction of a millisecond.

It creates its own database (revkeen_bench_checkout) and uses Redis db 10; rate limits are raised for the run.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from payments import ensure_database, free_port, run_load, wait_for  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB_NAME = "revkeen_bench_checkout"

SETUP = """
from apps.core.tenancy import Tenant
from tests.factories import make_api_key, make_merchant, make_price, make_product
merchant = make_merchant(name="Bench Checkout Ltd")
tenant = Tenant(merchant, livemode=False)
product = make_product(tenant, name="Bench grinder", features=["Conical burrs", "40 settings"])
price = make_price(tenant, product, currency="GBP", unit_amount_minor=12900)
print("KEY=" + make_api_key(merchant, name="bench"))
print("PRICE=" + price.pk)
"""


def quantiles(latencies: list[float]) -> tuple[float, float, float]:
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return at(0.50), at(0.95), at(0.99)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0, help="total, split between the two phases")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()

    env = dict(os.environ)
    env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB_NAME}", REDIS_URL="redis://127.0.0.1:6379/10",
               DJANGO_SETTINGS_MODULE="revkeen.settings", DJANGO_DEBUG="0", LOG_LEVEL="WARNING",
               RATE_LIMIT_SANDBOX_PER_MIN="100000000", RATE_LIMIT_SANDBOX_BURST="100000000")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ensure_database(DB_NAME)
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run([PY, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    key, price_id = values["KEY"], values["PRICE"]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env["PUBLIC_BASE_URL"] = base
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), "revkeen.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(args.workers), "--log-level", "warning", "--no-access-log"], cwd=ROOT, env=env)
    api_url = f"{base}/v2/checkout-sessions"
    headers = {"x-api-key": key}
    sessions: list[str] = []
    lock = threading.Lock()
    rows = []
    try:
        wait_for(f"{base}/v2/payment-links?limit=1", headers=headers)

        def create(client: httpx.Client, i: int) -> bool:
            response = client.post(api_url, json={
                "line_items": [{"price_id": price_id, "quantity": 1 + i % 3}],
                "success_url": "https://shop.example/thanks?s={CHECKOUT_SESSION_ID}"},
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
            if response.status_code != 201:
                return False
            with lock:
                sessions.append(response.json()["data"]["id"])
            return True

        def page(client: httpx.Client, i: int) -> bool:
            response = client.get(f"{base}/checkout/{sessions[i % len(sessions)]}")
            return response.status_code == 200 and b"Bench grinder" in response.content

        with httpx.Client(timeout=30) as warm:  # connections, imports, first queries
            for i in range(10):
                create(warm, i)
            for i in range(10):
                page(warm, i)
        phase = args.seconds / 2
        for title, call in (("POST /v2/checkout-sessions", create), ("GET /checkout/<cs_…> (hosted page)", page)):
            latencies, errors, elapsed = run_load(call=call, concurrency=args.concurrency, seconds=phase)
            rows.append((title, len(latencies), errors, len(latencies) / elapsed, *quantiles(latencies)))
    finally:
        server.terminate()
        server.wait(timeout=10)

    print(f"Checkout, uvicorn x{args.workers}, PostgreSQL + Redis, concurrency {args.concurrency}, "
          f"{args.seconds / 2:.0f} s per endpoint")
    print(f"| {'endpoint':<36} | {'requests':>8} | {'errors':>6} | {'req/s':>7} | {'p50 ms':>7} | {'p95 ms':>7} "
          f"| {'p99 ms':>7} |")
    print(f"|{'-' * 38}|{'-' * 10}|{'-' * 8}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 9}|")
    for title, count, errors, rate, p50, p95, p99 in rows:
        print(f"| {title:<36} | {count:>8} | {errors:>6} | {rate:>7.1f} | {p50:>7.1f} | {p95:>7.1f} | {p99:>7.1f} |")


if __name__ == "__main__":
    main()
