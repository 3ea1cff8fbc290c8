"""The card-gateway interface every adapter implements, and the results it returns.

One adapter per gateway protocol (nmi.py today). Services call these methods; nothing else in the
project speaks to a gateway. Money goes in as `Money` (integer minor units); each adapter writes its
own wire format.

Outcomes (`Outcome`):
- approved         the gateway did it (authorised, captured, voided, refunded, vaulted).
- declined         the issuer said no; `decline_code` is our page-025 code, `message` its text.
- requires_action  the cardholder must authenticate first (3-D Secure): send them to `action_url`,
                   then read the result with `query_transaction` / `find_attempt`.
- error            the gateway refused the request without doing anything (bad input, auth failure,
                   duplicate, rate limit, a 429/503, or the connection never opened). Nothing moved;
                   `retryable` says whether the same request may be sent again later.
- unknown          the request may have reached the gateway but no answer came back (read timeout,
                   connection dropped or reset after sending, a 500/502/504, an unreadable body). Never
                   treat it as declined and never simply retry: resolve it with `find_attempt(order_id)`
                   (sale, auth, refund, validate) or `query_transaction(transaction_id)` (capture, void).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from apps.core.money import Money


class Outcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    REQUIRES_ACTION = "requires_action"
    ERROR = "error"
    UNKNOWN = "unknown"


class CardDataRefused(ValueError):
    """A call carried card data (a card number, expiry, CVV or bank account). Only tokens may be sent."""


class GatewayQueryError(RuntimeError):
    """A read (query) could not be answered: transport failure or the gateway's error response."""


@dataclass(frozen=True)
class CardDetails:
    """What the gateway told us about the card. Never the number: BIN and last four only."""

    brand: str = ""  # visa | mastercard | amex | discover | diners | jcb | maestro
    last4: str = ""
    bin: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    funding: str = ""  # credit | debit | prepaid ("" when the gateway does not say)
    commercial: bool | None = None  # consumer (False) or commercial/corporate (True); None when unknown
    country: str = ""  # issuing country, ISO 3166 alpha-2

    @property
    def funding_class(self) -> str:
        """One word for fee tables: debit, credit, prepaid, commercial_debit or commercial_credit."""
        if self.commercial and self.funding in ("credit", "debit"):
            return f"commercial_{self.funding}"
        return self.funding


@dataclass(frozen=True)
class BillingDetails:
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    address1: str = ""
    address2: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    country: str = ""  # ISO 3166 alpha-2
    email: str = ""
    phone: str = ""


@dataclass(frozen=True)
class ThreeDSData:
    """The result of an external 3-D Secure authentication (NMI's cardholder_auth / cavv / xid / …)."""

    cardholder_auth: str  # verified | attempted
    cavv: str = ""
    xid: str = ""
    eci: str = ""
    three_ds_version: str = ""
    directory_server_id: str = ""


@dataclass(frozen=True)
class StoredCredential:
    """Credential-on-file flags: the first customer-initiated charge stores, later merchant charges use."""

    initiated_by: str  # customer | merchant
    indicator: str  # stored | used
    initial_transaction_id: str = ""
    billing_method: str = ""  # recurring | installment


@dataclass(frozen=True)
class GatewayResult:
    outcome: Outcome
    operation: str  # sale | auth | capture | void | refund | validate | vault_add | vault_update | vault_delete
    transaction_id: str = ""
    order_id: str = ""
    auth_code: str = ""
    response_code: str = ""  # the gateway's own result code (NMI response_code)
    decline_code: str | None = None  # our page-025 code, when declined
    message: str = ""  # declined: the page-025 message; otherwise the gateway's text
    gateway_message: str = ""  # the gateway's text as it came
    avs_result: str = ""
    cvv_result: str = ""
    card: CardDetails | None = None
    amount: Money | None = None
    customer_vault_id: str = ""
    action_url: str = ""  # requires_action: where the cardholder authenticates
    duplicate: bool = False  # error: the gateway saw the same request within its duplicate window
    retryable: bool = False  # error: the same request may be sent again later (rate limit, 503, no connection)
    error: str = ""  # error/unknown: what went wrong on the way (exception class and text)
    raw: dict[str, str] = field(default_factory=dict)  # the parsed reply, secrets and card data stripped

    @property
    def approved(self) -> bool:
        return self.outcome == Outcome.APPROVED


@dataclass(frozen=True)
class GatewayAction:
    action_type: str  # sale | auth | capture | void | refund | credit | validate | settle | chargeback | …
    amount: Money
    date: datetime | None
    success: bool
    response_code: str = ""
    response_text: str = ""
    batch_id: str = ""
    reason_code: str = ""


@dataclass(frozen=True)
class GatewayTransaction:
    """A transaction as the gateway's reporting API shows it."""

    transaction_id: str
    order_id: str
    condition: str  # pending | pendingsettlement | in_progress | abandoned | failed | canceled | complete
    currency: str
    auth_code: str = ""
    card: CardDetails | None = None
    customer_vault_id: str = ""
    original_transaction_id: str = ""
    avs_result: str = ""
    cvv_result: str = ""
    actions: tuple[GatewayAction, ...] = ()

    @property
    def kind(self) -> str:
        """sale | auth | refund | credit | validate: the first money action (empty while waiting for 3-DS)."""
        for action in self.actions:
            if action.action_type in ("sale", "auth", "refund", "credit", "validate"):
                return action.action_type
        return ""

    def actions_of(self, action_type: str) -> list[GatewayAction]:
        return [a for a in self.actions if a.action_type == action_type]

    @property
    def settled_at(self) -> datetime | None:
        settles = self.actions_of("settle")
        return settles[-1].date if settles else None

    @property
    def batch_id(self) -> str:
        settles = self.actions_of("settle")
        return settles[-1].batch_id if settles else ""


@dataclass(frozen=True)
class SettlementBatch:
    batch_id: str
    closed_at: datetime | None
    transactions: tuple[GatewayTransaction, ...]

    def total(self, action_kind: str, currency: str) -> Money:
        """Sum of settled amounts of one kind (sale, auth (captured), refund, credit) in one currency."""
        minor = sum(t.actions_of("settle")[-1].amount.amount_minor for t in self.transactions
                    if t.kind == action_kind and t.currency == currency)
        return Money(minor, currency)


@dataclass(frozen=True)
class AttemptLookup:
    """What the gateway knows about one of our attempts (our attempt id was sent as its order id)."""

    status: str  # found | not_found | unknown (the lookup itself failed: try again later)
    order_id: str
    transactions: tuple[GatewayTransaction, ...] = ()
    result: GatewayResult | None = None  # found: the attempt's outcome, as if the first call had answered
    error: str = ""

    @property
    def found(self) -> bool:
        return self.status == "found"


@runtime_checkable
class PaymentGateway(Protocol):
    """Card gateway operations. Card data never passes through: a payment token or a vault id stands for it."""

    def sale(self, *, amount: Money, order_id: str, payment_token: str = "", customer_vault_id: str = "",
             billing: BillingDetails | None = None, three_ds: ThreeDSData | None = None,
             stored_credential: StoredCredential | None = None, description: str = "") -> GatewayResult: ...

    def authorize(self, *, amount: Money, order_id: str, payment_token: str = "", customer_vault_id: str = "",
                  billing: BillingDetails | None = None, three_ds: ThreeDSData | None = None,
                  stored_credential: StoredCredential | None = None, description: str = "") -> GatewayResult: ...

    def capture(self, *, transaction_id: str, amount: Money, order_id: str = "") -> GatewayResult: ...

    def void(self, *, transaction_id: str, reason: str = "") -> GatewayResult: ...

    def refund(self, *, transaction_id: str, order_id: str, amount: Money | None = None) -> GatewayResult: ...

    def validate(self, *, order_id: str, payment_token: str = "", customer_vault_id: str = "",
                 billing: BillingDetails | None = None, currency: str = "USD") -> GatewayResult: ...

    def vault_add(self, *, payment_token: str, customer_vault_id: str = "",
                  billing: BillingDetails | None = None) -> GatewayResult: ...

    def vault_update(self, *, customer_vault_id: str, payment_token: str = "",
                     billing: BillingDetails | None = None) -> GatewayResult: ...

    def vault_delete(self, *, customer_vault_id: str) -> GatewayResult: ...

    def query_transaction(self, *, transaction_id: str = "", order_id: str = "") -> list[GatewayTransaction]: ...

    def query_transactions(self, *, start: datetime | None = None, end: datetime | None = None,
                           conditions: tuple[str, ...] = (), action_types: tuple[str, ...] = (),
                           limit: int = 1000, page: int = 0) -> list[GatewayTransaction]: ...

    def query_settlements(self, *, start: datetime, end: datetime) -> list[SettlementBatch]: ...

    def find_attempt(self, order_id: str) -> AttemptLookup: ...
