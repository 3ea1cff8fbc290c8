"""Injectable faults: the ways a real gateway fails, on demand.

    from apps.payments.simulators.nmi import faults
    faults.inject("timeout_after_charge", match={"orderid": attempt_id}, hang_seconds=3)
    faults.inject("error_5xx_before_charge", status=503)
    faults.inject("latency", latency_ms=800, times=None)      # until faults.clear()

Kinds (`endpoint` is "transact" by default; also "query", "tokenize" or "any"):
- `latency`                  wait `latency_ms`, then answer normally.
- `timeout_after_charge`     process the request (the ledger records the sale), then hold the answer for
                             `hang_seconds` (default NMI_SIM_FAULT_HANG_SECONDS, past the client's read
                             timeout) before writing it to a client that has given up.
- `drop_after_charge`        process the request, then reset the TCP connection without answering.
- `error_5xx_before_charge`  answer HTTP `status` (default 503) with an empty body; nothing is processed.
- `connection_reset`         reset the TCP connection before processing; nothing is processed.
- `rate_limit`               NMI's Payment-API limit: `response=3&responsetext=Rate limit exceeded&…&response_code=301`.
- `http_429`                 NMI's system-wide limit: HTTP 429 (Payment API, "Rate Limits").

A TCP reset needs the simulator's own server (`run_nmi_simulator`, or `server.start_simulator_server`
in tests), which lets a view drop its connection. Under another server (runserver, ASGI) the two reset
kinds degrade: `drop_after_charge` hangs like `timeout_after_charge`, `connection_reset` answers an
empty HTTP 502.

Faults live in the database (SimFault) so the simulator's server threads — or a separate simulator
process sharing the database — see them; each use is claimed with a compare-and-set on `remaining`.
`match` is a dict of request variables that must all be equal (`{"type": "sale"}`,
`{"orderid": "…"}`, `{"security_key": "…"}`); `times=None` keeps the fault until `clear()`.
"""
from __future__ import annotations

from django.db.models import F

from .chargebacks import chargeback_resolve, inject_chargeback  # noqa: F401  (one import for tests: faults.*)
from .models import SimFault

KINDS = ("latency", "timeout_after_charge", "drop_after_charge", "error_5xx_before_charge", "connection_reset",
         "rate_limit", "http_429")
ENDPOINTS = ("transact", "query", "tokenize", "any")


def inject(kind: str, *, match: dict | None = None, times: int | None = 1, endpoint: str = "transact",
           latency_ms: int = 0, hang_seconds: float | None = None, status: int | None = None) -> SimFault:
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}")
    if times is not None and times < 1:
        raise ValueError("times must be at least 1 (or None for 'until cleared')")
    return SimFault.objects.create(
        kind=kind, endpoint=endpoint, match={k: str(v) for k, v in (match or {}).items()}, remaining=times,
        latency_ms=latency_ms, hang_ms=int(hang_seconds * 1000) if hang_seconds is not None else 0,
        status_code=status or (503 if kind == "error_5xx_before_charge" else 0))


def clear() -> int:
    deleted, _ = SimFault.objects.all().delete()
    return deleted


def active() -> list[SimFault]:
    return list(SimFault.objects.exclude(remaining=0))


def take(endpoint: str, params: dict[str, str]) -> SimFault | None:
    """The first live fault matching this request, with one use claimed; None when there is none."""
    for fault in SimFault.objects.filter(endpoint__in=[endpoint, "any"]).exclude(remaining=0):
        if any(params.get(key, "") != value for key, value in fault.match.items()):
            continue
        if fault.remaining is None:
            SimFault.objects.filter(pk=fault.pk).update(hits=F("hits") + 1)
            return fault
        # a conditional UPDATE: two server threads can never both spend the last use
        if SimFault.objects.filter(pk=fault.pk, remaining__gt=0).update(
                remaining=F("remaining") - 1, hits=F("hits") + 1):
            return fault
    return None
