"""Simulator accounts (security and tokenisation keys) and Collect.js tokenisation."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction

from apps.core.clock import now

from . import cards, conf
from .models import SimAccount, SimToken
from .protocol import new_numeric_id, new_payment_token

# NMI's public demo account key ("Testing Information", method 3): always sandboxed.
DEMO_SECURITY_KEY = "6457Thfj624V5r7WUwc5v6a68Zsd6YEm"
SECURITY_KEY_PREFIX = "sim_security_key_"
TOKENIZATION_KEY_PREFIX = "sim_tokenization_key_"


class TokenizeError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# --- accounts ---------------------------------------------------------------------------------------------
def paired_tokenization_key(security_key: str) -> str:
    """`sim_security_key_<x>` pairs with `sim_tokenization_key_<x>`; any other key gets a derived one."""
    if security_key.startswith(SECURITY_KEY_PREFIX):
        return TOKENIZATION_KEY_PREFIX + security_key[len(SECURITY_KEY_PREFIX):]
    return TOKENIZATION_KEY_PREFIX + hashlib.sha256(security_key.encode()).hexdigest()[:24]


@transaction.atomic
def sim_account_create(*, name: str = "", security_key: str | None = None, tokenization_key: str | None = None,
                       currency: str = "USD", webhook_url: str = "", webhook_signing_key: str | None = None,
                       batch_cutoff: str = "", batch_timezone: str = "", dup_seconds: int | None = None,
                       credits_enabled: bool = False) -> SimAccount:
    """A new gateway account with a fresh key pair (`sim_security_key_<x>` / `sim_tokenization_key_<x>`)."""
    security_key = security_key or SECURITY_KEY_PREFIX + secrets.token_hex(12)
    return SimAccount.objects.create(
        name=name, security_key=security_key,
        tokenization_key=tokenization_key or paired_tokenization_key(security_key),
        gateway_merchant_id=new_numeric_id(6), currency=currency, webhook_url=webhook_url,
        webhook_signing_key=secrets.token_hex(32) if webhook_signing_key is None else webhook_signing_key,
        batch_cutoff=batch_cutoff, batch_timezone=batch_timezone, dup_seconds=dup_seconds,
        credits_enabled=credits_enabled)


def account_for_security_key(key: str) -> SimAccount | None:
    """The account of a private key. Keys starting `sim_` (and NMI's demo key) open an account on first use."""
    if not key:
        return None
    account = SimAccount.objects.filter(security_key=key).first()
    if account is None and (key == DEMO_SECURITY_KEY or key.startswith("sim_")):
        account = _create_on_demand(security_key=key, tokenization_key=paired_tokenization_key(key))
    return account


def account_for_tokenization_key(key: str) -> SimAccount | None:
    """The account of a public tokenisation key; `sim_tokenization_key_<x>` opens account `<x>` on first use."""
    if not key:
        return None
    account = SimAccount.objects.filter(tokenization_key=key).first()
    if account is None and key.startswith(TOKENIZATION_KEY_PREFIX):
        suffix = key[len(TOKENIZATION_KEY_PREFIX):]
        account = _create_on_demand(security_key=SECURITY_KEY_PREFIX + suffix, tokenization_key=key)
    return account


def _create_on_demand(*, security_key: str, tokenization_key: str) -> SimAccount | None:
    try:
        with transaction.atomic():
            return SimAccount.objects.create(name="on demand", security_key=security_key,
                                             tokenization_key=tokenization_key, gateway_merchant_id=new_numeric_id(6),
                                             webhook_signing_key=secrets.token_hex(32))
    except IntegrityError:  # created meanwhile by another request, or one key already belongs elsewhere
        return SimAccount.objects.filter(security_key=security_key, tokenization_key=tokenization_key).first()


# --- Collect.js tokenisation --------------------------------------------------------------------------------
_EXP_RE = re.compile(r"^\s*(\d{1,2})\s*/?\s*(\d{2}|\d{4})\s*$")


def normalize_exp(text: str) -> str | None:
    """MMYY from 'MMYY', 'MM/YY' or 'MM / YYYY'; None when it is not an expiry date."""
    match = _EXP_RE.match(text or "")
    if not match:
        return None
    month, year = int(match.group(1)), match.group(2)[-2:]
    if not 1 <= month <= 12:
        return None
    return f"{month:02d}{year}"


def cvv_result_for(cvv: str, card: cards.SimCard | None) -> str:
    """NMI test rule ("Triggering Errors in Test Mode"): cvv 999 simulates a match; any other cvv, no match."""
    if card is not None and card.cvv_result:
        return card.cvv_result
    if not cvv:
        return ""
    return "M" if cvv == "999" else "N"


@transaction.atomic
def token_create(*, account: SimAccount, ccnumber: str, ccexp: str, cvv: str = "") -> SimToken:
    """Stores what the gateway needs to charge the card later and hands back a single-use token."""
    profile = cards.resolve(ccnumber or "")
    if profile is None:
        raise TokenizeError("ccnumber", "Card number is invalid")
    exp = normalize_exp(ccexp)
    if exp is None:
        raise TokenizeError("ccexp", "Expiration date is invalid")
    cvv = (cvv or "").strip()
    if cvv and (not cvv.isdigit() or len(cvv) not in (3, 4)):
        raise TokenizeError("cvv", "CVV is invalid")
    moment = now()
    return SimToken.objects.create(
        account=account, token=new_payment_token(), cvv_result=cvv_result_for(cvv, profile.card),
        expires_at=moment + timedelta(seconds=conf.get("NMI_SIM_TOKEN_TTL_SECONDS")), created_at=moment,
        **card_fields(profile, exp))


@transaction.atomic
def cvv_token_create(*, account: SimAccount, cvv: str) -> SimToken:
    """A CVV-only token (Collect.js with just the CVV field mounted): it carries no card, only the CVV check,
    and is sent with a customer_vault_id so a saved card is charged with a freshly entered CVV."""
    cvv = (cvv or "").strip()
    if not cvv.isdigit() or len(cvv) not in (3, 4):
        raise TokenizeError("cvv", "CVV is invalid")
    moment = now()
    return SimToken.objects.create(
        account=account, token=new_payment_token(), cvv_result=cvv_result_for(cvv, None),
        expires_at=moment + timedelta(seconds=conf.get("NMI_SIM_TOKEN_TTL_SECONDS")), created_at=moment)


def card_fields(profile: cards.CardProfile, exp: str = "") -> dict:
    """Model fields (CardFields) for a resolved card."""
    return {"card_key": profile.key, "cc_type": profile.brand, "cc_bin": profile.bin, "cc_last4": profile.last4,
            "cc_hash": profile.hash, "cc_exp": exp, "cc_funding": profile.funding, "cc_commercial": profile.commercial,
            "cc_issuer_country": profile.country}


def collectjs_response(token: SimToken) -> dict:
    """The object Collect.js hands to the page's callback (protocols.md §1.7)."""
    return {
        "tokenType": "inline",
        "token": token.token,
        "card": {"number": f"{token.cc_bin}******{token.cc_last4}", "bin": token.cc_bin, "exp": token.cc_exp,
                 "hash": token.cc_hash, "type": token.cc_type},
        "check": None,
        "wallet": None,
    }
