"""Card gateways: the interface (base.py), our decline codes (declines.py) and the NMI adapter (nmi.py)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpx

# A transport that replaces the network for the adapters built in this context (the demo loader reaches
# the in-process simulator through it when no server is listening yet).
_transport: ContextVar[httpx.BaseTransport | None] = ContextVar("revkeen_gateway_transport", default=None)


def gateway_for(account):
    """The adapter for an accounts.GatewayAccount (provider, api_url, security_key, tokenization_key)."""
    from .nmi import NmiGateway

    if account.provider != "nmi":
        raise ValueError(f"no adapter for gateway provider {account.provider!r}")
    transport = _transport.get()
    if transport is not None:
        return NmiGateway.from_account(account, client=httpx.Client(transport=transport, timeout=30))
    return NmiGateway.from_account(account)


@contextmanager
def gateway_transport(transport: httpx.BaseTransport) -> Iterator[None]:
    token = _transport.set(transport)
    try:
        yield
    finally:
        _transport.reset(token)
