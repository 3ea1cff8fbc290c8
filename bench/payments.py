"""Benchmark: card payments per second and p50/p95/p99 latency of payment creation in service mode.

    .venv/bin/python bench/payments.py --concurrency 8 --seconds 20

Service mode as deployed: uvicorn workers serving /v2 (PostgreSQL + Redis), the NMI simulator in its own
process (`manage.py run_nmi_simulator`, real HTTP, its own ledger in the same database), the merchant's
sandbox gateway pointed at it. Each request is a full `POST /v2/payments` with `tok_visa` and a fresh
Idempotency-Key: authentication, rate limit, idempotency record, the committed pending attempt, the NMI
Direct Post call through the adapter, the outcome applied under a row lock with its fee lines and the
`payment.created` / `payment.succeeded` events. A second figure measures the adapter alone (NmiGateway.sale
straight to the simulator) so the API's share is visible.

It creates its own database (revkeen_bench_payments) and uses Redis db 9; rate limits are raised for the run.
At the end it checks the simulator's ledger: exactly one sale per succeeded payment.
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
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB_NAME = "revkeen_bench_payments"

SETUP = """
from apps.accounts.models import GatewayAccount
from tests.factories import make_api_key, make_merchant
merchant = make_merchant(name="Bench Payments Ltd")
account = GatewayAccount.objects.get(merchant=merchant, livemode=False)
GatewayAccount.objects.filter(pk=account.pk).update(api_url="{sim_url}")
print("KEY=" + make_api_key(merchant, name="bench"))
print("SECURITY_KEY=" + account.security_key)
"""

LEDGER_CHECK = """
from apps.payments.models import Payment
from apps.payments.simulators.nmi.models import SimTransaction
attempts = list(Payment.objects.filter(status="succeeded").values_list("attempt_id", flat=True))
sales = SimTransaction.objects.filter(type="sale", orderid__in=attempts).count()
print(f"LEDGER={len(attempts)},{sales}")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_database(name: str) -> None:
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def wait_for(url: str, *, headers: dict | None = None, ok=(200,)) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(url, headers=headers or {}, timeout=2).status_code in ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def run_load(*, call, concurrency: int, seconds: float) -> tuple[list[float], int, float]:
    """Runs `call(client, i)` from `concurrency` threads for `seconds`; returns latencies, errors, elapsed."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = [0]
    stop_at = time.perf_counter() + seconds

    def worker():
        local, bad = [], 0
        with httpx.Client(timeout=30) as client:
            while time.perf_counter() < stop_at:
                with lock:
                    counter[0] += 1
                    i = counter[0]
                start = time.perf_counter()
                ok = call(client, i)
                local.append(time.perf_counter() - start)
                bad += 0 if ok else 1
        with lock:
            latencies.extend(local)
            errors[0] += bad

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0], time.perf_counter() - started


def report(title: str, latencies: list[float], errors: int, elapsed: float) -> None:
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(title)
    print(f"  payments: {len(latencies)}  errors: {errors}  elapsed: {elapsed:.1f}s")
    print(f"  throughput: {len(latencies) / elapsed:.1f} payments/s")
    print(f"  latency ms: p50 {q[49] * 1000:.1f}  p95 {q[94] * 1000:.1f}  p99 {q[98] * 1000:.1f}  "
          f"max {latencies[-1] * 1000:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()

    env = dict(os.environ)
    env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB_NAME}", REDIS_URL="redis://127.0.0.1:6379/9",
               DJANGO_SETTINGS_MODULE="revkeen.settings", DJANGO_DEBUG="0", LOG_LEVEL="WARNING",
               NMI_SIMULATOR_ENABLED="0", NMI_SIM_DUP_SECONDS="0",
               RATE_LIMIT_SANDBOX_PER_MIN="100000000", RATE_LIMIT_SANDBOX_BURST="100000000")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    ensure_database(DB_NAME)
    subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)

    sim_port, api_port = free_port(), free_port()
    sim_url = f"http://127.0.0.1:{sim_port}/_sim/nmi"
    out = subprocess.run([PY, "manage.py", "shell", "-c", SETUP.format(sim_url=sim_url)], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    key, security_key = values["KEY"], values["SECURITY_KEY"]

    simulator = subprocess.Popen([PY, "manage.py", "run_nmi_simulator", "--port", str(sim_port)], cwd=ROOT, env=env)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/uvicorn"), "revkeen.asgi:application", "--host", "127.0.0.1", "--port", str(api_port),
         "--workers", str(args.workers), "--log-level", "warning", "--no-access-log"], cwd=ROOT, env=env)
    api_url = f"http://127.0.0.1:{api_port}/v2/payments"
    headers = {"x-api-key": key}
    try:
        wait_for(f"{api_url}?limit=1", headers=headers)
        wait_for(f"{sim_url}/", ok=(200,))

        def pay(client: httpx.Client, i: int) -> bool:
            response = client.post(api_url, json={"amount_minor": 1000 + i, "currency": "GBP",
                                                  "payment_token": "tok_visa", "description": f"bench {i}"},
                                   headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
            return response.status_code == 201 and response.json()["data"]["status"] == "succeeded"

        for i in range(20):  # warm up: connections, imports, first queries
            pay(httpx.Client(timeout=30), -i - 1)
        report(f"POST /v2/payments (tok_visa), uvicorn x{args.workers} + NMI simulator process, PostgreSQL + Redis, "
               f"concurrency {args.concurrency}", *run_load(call=pay, concurrency=args.concurrency,
                                                            seconds=args.seconds))

        def adapter_sale(client: httpx.Client, i: int) -> bool:
            response = client.post(f"{sim_url}/api/transact.php", data={
                "security_key": security_key, "type": "sale", "amount": f"{(50000 + i) / 100:.2f}",
                "currency": "GBP", "payment_token": "tok_visa", "orderid": f"bench-{uuid.uuid4().hex}"})
            return "response=1" in response.text

        report(f"NMI Direct Post sale alone (the simulator), concurrency {args.concurrency}",
               *run_load(call=adapter_sale, concurrency=args.concurrency, seconds=args.seconds / 2))
    finally:
        for process in (server, simulator):
            process.terminate()
            process.wait(timeout=10)
    out = subprocess.run([PY, "manage.py", "shell", "-c", LEDGER_CHECK], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True).stdout
    ours, sales = (int(v) for v in out.strip().rsplit("LEDGER=", 1)[1].split(","))
    print(f"  ledger: {ours} succeeded payments, {sales} simulator sales carrying their attempt ids "
          f"({'one each' if ours == sales else 'MISMATCH'})")


if __name__ == "__main__":
    main()
