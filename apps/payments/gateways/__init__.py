"""Card gateways: the interface (base.py), our decline codes (declines.py) and the NMI adapter (nmi.py)."""
from __future__ import annotations


def gateway_for(account):
    """The adapter for an accounts.GatewayAccount (provider, api_url, security_key, tokenization_key)."""
    from .nmi import NmiGateway

    if account.provider != "nmi":
        raise ValueError(f"no adapter for gateway provider {account.provider!r}")
    return NmiGateway.from_account(account)
