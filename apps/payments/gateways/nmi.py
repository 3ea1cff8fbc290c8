"""The NMI adapter: Direct Post (`/api/transact.php`) and the Query API (`/api/query.php`) over HTTPS.

Configured by a base URL (`https://secure.nmi.com`, a white-label host, or the simulator's
`…/_sim/nmi`) and the merchant's private security key; the public tokenisation key only goes to the
browser (Collect.js, `collectjs_url`). Requests are form-encoded; replies are query strings (transact)
or XML (query), as protocols.md §1 describes.

Safety rules this module enforces:
- Card data never passes: a call carrying a card number, expiry, CVV or bank account (by field name,
  or any value that looks like a card number) raises CardDataRefused before anything is sent. Payment
  tokens (Collect.js) and Customer Vault ids stand for cards. (The simulator also accepts `ccnumber`,
  as NMI does; this adapter never sends it.)
- Our attempt id travels as `orderid`, so an attempt whose answer was lost is found again with
  `find_attempt(order_id)` (query.php `order_id=`) instead of being charged twice.
- Transport failures are never declines. No connection (connect error/timeout, pool timeout) → error,
  retryable: nothing reached the gateway. Read timeout, a connection dropped or reset after the request
  was written, HTTP 500/502/504 or an unreadable body → unknown: it may have been processed. HTTP
  429/503 → error, retryable (NMI's system-wide limit; service refused). NMI `response=3` with a
  processor/communication code (400, 420, 421) → unknown as well (protocols.md §1.4 mapping policy:
  "retry-safe only after a Query-API lookup").
- Strict timeouts: connect 5 s, read 30 s (settings NMI_CONNECT_TIMEOUT_SECONDS / NMI_READ_TIMEOUT_SECONDS,
  or constructor arguments).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import asdict, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl
from xml.etree import ElementTree as ET

import httpx
from django.conf import settings

from apps.core.carddata import contains_card_number
from apps.core.money import Money

from .base import (
    AttemptLookup,
    BillingDetails,
    CardDataRefused,
    CardDetails,
    GatewayAction,
    GatewayQueryError,
    GatewayResult,
    GatewayTransaction,
    Outcome,
    SettlementBatch,
    StoredCredential,
    ThreeDSData,
)
from .declines import decline

log = logging.getLogger("revkeen.payments.nmi")

# Fields that carry card or bank data in NMI's Payment API. We never send them.
CARD_DATA_FIELDS = frozenset({
    "ccnumber", "ccexp", "cvv", "checkaccount", "checkaba", "track_1", "track_2", "track_3", "magnesafe_track_1",
    "magnesafe_track_2", "magnesafe_magneprint", "magnesafe_ksn", "encrypted_track_1", "encrypted_track_2",
    "encrypted_data", "applepay_payment_data", "googlepay_payment_data",
})
EMV_VOID_REASONS = frozenset({"fraud", "user_cancel", "icc_rejected", "icc_card_removed", "icc_no_confirmation",
                              "pos_timeout"})

# NMI response_code (Result Code Table) → our decline code (declines.py). 260 "see response text" is read
# by its text (see map_decline); any other unknown code is a soft decline (DECISIONS.md: unknown = soft).
NMI_DECLINE_MAP = {
    "200": "200", "201": "200", "240": "200",
    "204": "204", "261": "204", "262": "204",
    "202": "300",
    "203": "402",
    "220": "303",
    "221": "530", "222": "530", "226": "530",
    "223": "223",
    "224": "202", "263": "202",
    "225": "225",
    "250": "531", "251": "531", "252": "531", "253": "531",
    "264": "304",
}
UNKNOWN_DECLINE_CODE = "304"
# response=3 codes that mean "the processor may or may not have it": resolve with the Query API.
AMBIGUOUS_ERROR_CODES = frozenset({"400", "420", "421"})

def map_decline(response_code: str, responsetext: str) -> str:
    if response_code == "260":
        text = responsetext.lower()
        if "insufficient" in text:
            return "301"
        if "withdrawal" in text or "frequency" in text or "limit" in text:
            return "521"
        return "200"
    return NMI_DECLINE_MAP.get(response_code, UNKNOWN_DECLINE_CODE)


# Fields we fill ourselves with digits that may pass the Luhn check by chance: the security key, and the
# Query API's YYYYMMDDhhmmss dates (about one timestamp in ten is a "valid" 14-digit number).
_NOT_CARD_FIELDS = frozenset({"security_key", "start_date", "end_date"})


def refuse_card_data(params: dict[str, str]) -> None:
    for key, value in params.items():
        if key in CARD_DATA_FIELDS:
            raise CardDataRefused(f"refusing to send card data field {key!r}: use a payment token or a vault id")
        if key not in _NOT_CARD_FIELDS and contains_card_number(value):
            raise CardDataRefused(f"refusing to send a card number in field {key!r}")


def _wire_amount(amount: Money) -> str:
    return str(amount.to_decimal())


def _money(text: str, currency: str) -> Money:
    try:
        return Money.from_decimal(Decimal(text or "0"), currency)
    except (InvalidOperation, ValueError):
        return Money(0, currency)


def _date(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def card_from_fields(fields: dict[str, str]) -> CardDetails | None:
    """Card details from a transact reply or a Query API record (cc_number masked, cc_bin, cc_type, …)."""
    masked = fields.get("cc_number", "")
    if not masked and not fields.get("cc_type"):
        return None
    exp = fields.get("cc_exp", "")
    product = fields.get("cc_product", "")
    return CardDetails(
        brand=fields.get("cc_type", "").lower(), last4=masked[-4:] if len(masked) >= 4 else "",
        bin=fields.get("cc_bin", ""), exp_month=int(exp[:2]) if len(exp) == 4 and exp.isdigit() else None,
        exp_year=2000 + int(exp[2:]) if len(exp) == 4 and exp.isdigit() else None,
        funding=fields.get("cc_funding", ""), commercial={"commercial": True, "consumer": False}.get(product),
        country=fields.get("cc_issuer_country", ""))


class NmiGateway:
    """One merchant's NMI account. Thread-safe (httpx.Client); close() it, or use it as a context manager."""

    provider = "nmi"

    def __init__(self, *, base_url: str, security_key: str, tokenization_key: str = "",
                 connect_timeout: float | None = None, read_timeout: float | None = None,
                 client: httpx.Client | None = None, enrich_card_details: bool = True):
        if not security_key:
            raise ValueError("an NMI security key is required")
        self.base_url = base_url.rstrip("/")
        self.security_key = security_key
        self.tokenization_key = tokenization_key
        self.enrich_card_details = enrich_card_details
        connect = connect_timeout if connect_timeout is not None else getattr(settings, "NMI_CONNECT_TIMEOUT_SECONDS", 5)
        read = read_timeout if read_timeout is not None else getattr(settings, "NMI_READ_TIMEOUT_SECONDS", 30)
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
            headers={"User-Agent": "RevKeen-NMI/1"})

    @classmethod
    def from_account(cls, account, **options) -> NmiGateway:
        """From an accounts.GatewayAccount (api_url, security_key, tokenization_key)."""
        return cls(base_url=account.api_url, security_key=account.security_key,
                   tokenization_key=account.tokenization_key, **options)

    @property
    def transact_url(self) -> str:
        return f"{self.base_url}/api/transact.php"

    @property
    def query_url(self) -> str:
        return f"{self.base_url}/api/query.php"

    @property
    def collectjs_url(self) -> str:
        """For the checkout page: <script src=… data-tokenization-key=…>."""
        return f"{self.base_url}/token/Collect.js"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> NmiGateway:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- money-moving calls -------------------------------------------------------------------------------------
    def sale(self, *, amount: Money, order_id: str, payment_token: str = "", customer_vault_id: str = "",
             billing: BillingDetails | None = None, three_ds: ThreeDSData | None = None,
             stored_credential: StoredCredential | None = None, description: str = "",
             dup_seconds: int | None = None) -> GatewayResult:
        return self._authorize("sale", amount, order_id, payment_token, customer_vault_id, billing, three_ds,
                               stored_credential, description, dup_seconds)

    def authorize(self, *, amount: Money, order_id: str, payment_token: str = "", customer_vault_id: str = "",
                  billing: BillingDetails | None = None, three_ds: ThreeDSData | None = None,
                  stored_credential: StoredCredential | None = None, description: str = "",
                  dup_seconds: int | None = None) -> GatewayResult:
        return self._authorize("auth", amount, order_id, payment_token, customer_vault_id, billing, three_ds,
                               stored_credential, description, dup_seconds)

    def validate(self, *, order_id: str, payment_token: str = "", customer_vault_id: str = "",
                 billing: BillingDetails | None = None, currency: str = "USD") -> GatewayResult:
        # "For validate, the amount must be omitted or set to 0.00."
        params = {"type": "validate", "currency": currency, "orderid": order_id,
                  **self._source(payment_token, customer_vault_id), **_billing(billing)}
        return self._transact("validate", params, order_id=order_id)

    def capture(self, *, transaction_id: str, amount: Money, order_id: str = "") -> GatewayResult:
        params = {"type": "capture", "transactionid": transaction_id, "amount": _wire_amount(amount)}
        if order_id:
            params["orderid"] = order_id
        return self._transact("capture", params, amount=amount, order_id=order_id)

    def void(self, *, transaction_id: str, reason: str = "") -> GatewayResult:
        params = {"type": "void", "transactionid": transaction_id}
        if reason in EMV_VOID_REASONS:
            params["void_reason"] = reason
        return self._transact("void", params)

    def refund(self, *, transaction_id: str, order_id: str, amount: Money | None = None) -> GatewayResult:
        """A refund of a settled or pending-settlement transaction; no amount refunds what is left."""
        params = {"type": "refund", "transactionid": transaction_id, "orderid": order_id}
        if amount is not None:
            params["amount"] = _wire_amount(amount)
        return self._transact("refund", params, amount=amount, order_id=order_id)

    # --- Customer Vault ---------------------------------------------------------------------------------------------
    def vault_add(self, *, payment_token: str, customer_vault_id: str = "",
                  billing: BillingDetails | None = None) -> GatewayResult:
        params = {"customer_vault": "add_customer", "payment_token": payment_token, **_billing(billing)}
        if customer_vault_id:
            params["customer_vault_id"] = customer_vault_id
        return self._transact("vault_add", params)

    def vault_update(self, *, customer_vault_id: str, payment_token: str = "",
                     billing: BillingDetails | None = None) -> GatewayResult:
        params = {"customer_vault": "update_customer", "customer_vault_id": customer_vault_id, **_billing(billing)}
        if payment_token:
            params["payment_token"] = payment_token
        return self._transact("vault_update", params)

    def vault_delete(self, *, customer_vault_id: str) -> GatewayResult:
        return self._transact("vault_delete", {"customer_vault": "delete_customer",
                                               "customer_vault_id": customer_vault_id})

    # --- Query API ---------------------------------------------------------------------------------------------
    def query_transaction(self, *, transaction_id: str = "", order_id: str = "") -> list[GatewayTransaction]:
        if not transaction_id and not order_id:
            raise ValueError("give a transaction_id or an order_id")
        params = {"transaction_id": transaction_id} if transaction_id else {"order_id": order_id}
        return self._transactions(self._query(params))

    def query_transactions(self, *, start: datetime | None = None, end: datetime | None = None,
                           conditions: tuple[str, ...] = (), action_types: tuple[str, ...] = (),
                           limit: int = 1000, page: int = 0) -> list[GatewayTransaction]:
        params = {"result_limit": str(limit), "page_number": str(page)}
        if start:
            params["start_date"] = start.astimezone(UTC).strftime("%Y%m%d%H%M%S")
        if end:
            params["end_date"] = end.astimezone(UTC).strftime("%Y%m%d%H%M%S")
        if conditions:
            params["condition"] = ",".join(conditions)
        if action_types:
            params["action_type"] = ",".join(action_types)
        return self._transactions(self._query(params))

    def query_settlements(self, *, start: datetime, end: datetime) -> list[SettlementBatch]:
        """Batches closed between start and end, from the `settle` actions of the transactions they hold."""
        batches: OrderedDict[str, list[GatewayTransaction]] = OrderedDict()
        closed: dict[str, datetime | None] = {}
        page = 0
        while True:
            found = self.query_transactions(start=start, end=end, action_types=("settle",), limit=1000, page=page)
            for txn in found:
                for action in txn.actions_of("settle"):
                    if action.date and start <= action.date <= end:
                        batches.setdefault(action.batch_id, []).append(txn)
                        closed[action.batch_id] = action.date
            if len(found) < 1000:
                break
            page += 1
        return sorted((SettlementBatch(batch_id, closed[batch_id], tuple(txns)) for batch_id, txns in batches.items()),
                      key=lambda b: (b.closed_at or datetime.min.replace(tzinfo=UTC), b.batch_id))

    def find_attempt(self, order_id: str) -> AttemptLookup:
        """What became of our attempt `order_id` (sent as NMI's orderid): the reconciliation's question."""
        try:
            found = self.query_transaction(order_id=order_id)
        except GatewayQueryError as exc:
            return AttemptLookup("unknown", order_id, error=str(exc))
        if not found:
            return AttemptLookup("not_found", order_id)
        best = (next((t for t in found if self._first_money_action(t) and self._first_money_action(t).success), None)
                or next((t for t in found if t.condition == "in_progress"), None) or found[-1])
        return AttemptLookup("found", order_id, tuple(found), result_from_transaction(best))

    # --- plumbing -------------------------------------------------------------------------------------------------
    @staticmethod
    def _first_money_action(txn: GatewayTransaction) -> GatewayAction | None:
        return next((a for a in txn.actions if a.action_type == txn.kind), None) if txn.kind else None

    @staticmethod
    def _source(payment_token: str, customer_vault_id: str) -> dict[str, str]:
        """A token, a vault record, or both: a vault record with a CVV-only Collect.js token (the CVV re-entered
        for a saved card)."""
        if not payment_token and not customer_vault_id:
            raise ValueError("give a payment_token or a customer_vault_id")
        return {k: v for k, v in (("customer_vault_id", customer_vault_id), ("payment_token", payment_token)) if v}

    def _authorize(self, type_: str, amount: Money, order_id: str, payment_token: str, customer_vault_id: str,
                   billing: BillingDetails | None, three_ds: ThreeDSData | None,
                   stored_credential: StoredCredential | None, description: str,
                   dup_seconds: int | None) -> GatewayResult:
        if not order_id:
            raise ValueError("an order_id (our attempt id) is required: it is how a lost answer is found again")
        params = {"type": type_, "amount": _wire_amount(amount), "currency": amount.currency, "orderid": order_id,
                  **self._source(payment_token, customer_vault_id), **_billing(billing)}
        if description:
            params["order_description"] = description[:255]
        if dup_seconds is not None:
            params["dup_seconds"] = str(dup_seconds)
        if three_ds is not None:
            params.update({k: v for k, v in (
                ("cardholder_auth", three_ds.cardholder_auth), ("cavv", three_ds.cavv), ("xid", three_ds.xid),
                ("eci", three_ds.eci), ("three_ds_version", three_ds.three_ds_version),
                ("directory_server_id", three_ds.directory_server_id)) if v})
        if stored_credential is not None:
            params.update({k: v for k, v in (
                ("initiated_by", stored_credential.initiated_by),
                ("stored_credential_indicator", stored_credential.indicator),
                ("initial_transaction_id", stored_credential.initial_transaction_id),
                ("billing_method", stored_credential.billing_method)) if v})
        return self._transact(type_, params, amount=amount, order_id=order_id)

    def _transact(self, operation: str, params: dict[str, str], *, amount: Money | None = None,
                  order_id: str = "") -> GatewayResult:
        refuse_card_data(params)
        base = {"operation": operation, "order_id": order_id, "amount": amount}
        try:
            response = self._client.post(self.transact_url, data={"security_key": self.security_key, **params})
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol) as exc:
            return self._log(GatewayResult(Outcome.ERROR, retryable=True, error=_describe(exc), **base))
        except httpx.TransportError as exc:  # read/write timeout, reset, dropped: it may have been processed
            return self._log(GatewayResult(Outcome.UNKNOWN, error=_describe(exc), **base))
        if response.status_code != 200:
            status = response.status_code
            if status in (429, 503):
                outcome, retryable = Outcome.ERROR, True
            elif status >= 500:
                outcome, retryable = Outcome.UNKNOWN, False
            else:
                outcome, retryable = Outcome.ERROR, False
            return self._log(GatewayResult(outcome, retryable=retryable, error=f"HTTP {status}",
                                           response_code=str(status), **base))
        fields = dict(parse_qsl(response.text.strip(), keep_blank_values=True))
        if fields.get("response") not in ("1", "2", "3"):
            return self._log(GatewayResult(Outcome.UNKNOWN, error="unreadable reply", **base))
        result = self._interpret(fields, base)
        if (self.enrich_card_details and result.card is None and result.transaction_id
                and result.outcome in (Outcome.APPROVED, Outcome.DECLINED)):
            result = self._with_card_from_query(result)
        return self._log(result)

    def _interpret(self, fields: dict[str, str], base: dict) -> GatewayResult:
        code, text = fields.get("response_code", ""), fields.get("responsetext", "")
        common = {
            **base, "transaction_id": "" if fields.get("transactionid") == "0" else fields.get("transactionid", ""),
            "auth_code": fields.get("authcode", ""), "response_code": code, "gateway_message": text,
            "avs_result": fields.get("avsresponse", ""), "cvv_result": fields.get("cvvresponse", ""),
            "card": card_from_fields(fields), "customer_vault_id": fields.get("customer_vault_id", ""),
            "raw": _scrub(fields),
        }
        if not common["order_id"]:
            common["order_id"] = fields.get("orderid", "")
        response = fields["response"]
        if response == "1":
            return GatewayResult(Outcome.APPROVED, message=text, **common)
        if response == "2":
            if fields.get("three_ds_challenge_url"):  # simulator extension: 3-D Secure challenge
                return GatewayResult(Outcome.REQUIRES_ACTION, message="Cardholder authentication required.",
                                     action_url=fields["three_ds_challenge_url"], **common)
            declined = decline(map_decline(code, text))
            return GatewayResult(Outcome.DECLINED, decline_code=declined.code, message=declined.message, **common)
        if code in AMBIGUOUS_ERROR_CODES:
            return GatewayResult(Outcome.UNKNOWN, message=text, error=f"NMI {code}: {text}", **common)
        return GatewayResult(Outcome.ERROR, message=text, duplicate=text.lower().startswith("duplicate transaction"),
                             retryable=code == "301", **common)

    def _with_card_from_query(self, result: GatewayResult) -> GatewayResult:
        try:
            found = self.query_transaction(transaction_id=result.transaction_id)
        except GatewayQueryError:
            return result
        card = found[0].card if found else None
        if card is None:
            return result
        return replace(result, card=card)

    def _query(self, params: dict[str, str]) -> ET.Element:
        refuse_card_data(params)
        try:
            response = self._client.post(self.query_url, data={"security_key": self.security_key, **params})
        except httpx.HTTPError as exc:
            raise GatewayQueryError(_describe(exc)) from exc
        if response.status_code != 200:
            raise GatewayQueryError(f"HTTP {response.status_code}")
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError as exc:
            raise GatewayQueryError(f"unreadable Query API reply: {exc}") from exc
        error = root.find("error_response")
        if error is not None:
            raise GatewayQueryError((error.text or "").strip())
        return root

    def _transactions(self, root: ET.Element) -> list[GatewayTransaction]:
        return [transaction_from_xml(element) for element in root.findall("transaction")]

    @staticmethod
    def _log(result: GatewayResult) -> GatewayResult:
        log.info("nmi %s order=%s outcome=%s code=%s txn=%s%s", result.operation, result.order_id, result.outcome,
                 result.response_code, result.transaction_id, f" error={result.error}" if result.error else "")
        return result


def transaction_from_xml(element: ET.Element) -> GatewayTransaction:
    def text(node: ET.Element, name: str) -> str:
        return (node.findtext(name) or "").strip()

    currency = text(element, "currency") or "USD"
    card_fields = {name: text(element, name) for name in ("cc_number", "cc_bin", "cc_type", "cc_exp", "cc_funding",
                                                          "cc_product", "cc_issuer_country")}
    actions = tuple(
        GatewayAction(action_type=text(a, "action_type"), amount=_money(text(a, "amount"), currency),
                      date=_date(text(a, "date")), success=text(a, "success") == "1",
                      response_code=text(a, "response_code"), response_text=text(a, "response_text"),
                      batch_id="" if text(a, "batch_id") in ("", "0") else text(a, "batch_id"),
                      reason_code=text(a, "reason_code"))
        for a in element.findall("action"))
    return GatewayTransaction(
        transaction_id=text(element, "transaction_id"), order_id=text(element, "order_id"),
        condition=text(element, "condition"), currency=currency, auth_code=text(element, "authorization_code"),
        card=card_from_fields(card_fields), customer_vault_id=text(element, "customerid"),
        original_transaction_id=text(element, "original_transaction_id"), avs_result=text(element, "avs_response"),
        cvv_result=text(element, "csc_response"), actions=actions)


def result_from_transaction(txn: GatewayTransaction) -> GatewayResult:
    """The outcome of an attempt as the Query API shows it (used to resolve unknown outcomes and 3-D Secure)."""
    kind = txn.kind
    action = next((a for a in txn.actions if a.action_type == kind), None) if kind else None
    common = {"operation": kind or "sale", "transaction_id": txn.transaction_id, "order_id": txn.order_id,
              "auth_code": txn.auth_code, "avs_result": txn.avs_result, "cvv_result": txn.cvv_result,
              "card": txn.card, "customer_vault_id": txn.customer_vault_id,
              "amount": action.amount if action else None}
    if txn.condition == "in_progress":
        return GatewayResult(Outcome.REQUIRES_ACTION, message="Cardholder authentication required.", **common)
    if txn.condition == "abandoned":
        declined = decline("200")
        return GatewayResult(Outcome.DECLINED, decline_code=declined.code, message=declined.message,
                             gateway_message="3-D Secure authentication abandoned", **common)
    if action is None:
        return GatewayResult(Outcome.UNKNOWN, error=f"no {kind or 'money'} action on transaction", **common)
    if action.success:
        return GatewayResult(Outcome.APPROVED, response_code=action.response_code, message=action.response_text,
                             gateway_message=action.response_text, **common)
    declined = decline(map_decline(action.response_code, action.response_text))
    return GatewayResult(Outcome.DECLINED, response_code=action.response_code, decline_code=declined.code,
                         message=declined.message, gateway_message=action.response_text, **common)


def _billing(billing: BillingDetails | None) -> dict[str, str]:
    if billing is None:
        return {}
    return {name: value for name, value in asdict(billing).items() if value}


def _scrub(fields: dict[str, str]) -> dict[str, str]:
    """The reply as we keep it: no key, and nothing that looks like a card number."""
    return {k: ("[redacted]" if k == "security_key" or contains_card_number(v) else v) for k, v in fields.items()}


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]
