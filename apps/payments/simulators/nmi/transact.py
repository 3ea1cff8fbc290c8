"""transact.php: NMI's Direct Post Payment API, as the gateway answers it.

`handle(params)` takes the posted variables and returns the reply fields (urlencoded by the view).
Every request of an account runs under a lock on its SimAccount row, after a lazy batch close
(settlement.py), so duplicate checks, refund balances and void eligibility are exact under concurrency.

Error texts: those quoted in protocols.md §1.4 and the NMI docs are used verbatim ("Authentication
Failed", "Duplicate transaction REFID:…", "Only transactions pending settlement can be voided REFID:…",
"Invalid Transaction ID specified REFID:…", "Invalid Credit Card Number REFID:…", "Rate limit
exceeded"); the others are ours, in the same style, and marked [GUESS].
"""
from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum

from apps.core.clock import now
from apps.core.money import CurrencyError, currency_exponent, normalize_currency

from . import cards, conf, services, settlement, webhooks
from .models import SimAccount, SimAction, SimChargeback, SimCustomer, SimToken, SimTransaction
from .protocol import (
    APPROVED,
    DECLINED,
    ERROR,
    AmountError,
    format_amount,
    new_authcode,
    new_numeric_id,
    new_refid,
    parse_amount,
)

TYPES = ("sale", "auth", "capture", "void", "refund", "credit", "validate", "update")
VAULT_ACTIONS = ("add_customer", "update_customer", "delete_customer")
BILLING_FIELDS = ("first_name", "last_name", "company", "address1", "address2", "city", "state", "zip", "country",
                  "phone", "email")
LEGACY_NAMES = {"firstname": "first_name", "lastname": "last_name", "orderdescription": "order_description"}
MAX_DUP_SECONDS = 7862400  # "This value should not exceed 7862400."

Condition = SimTransaction.Condition


@dataclass
class Result:
    """What the view needs: the reply fields, plus the ledger row for logging and faults."""

    fields: dict[str, str]
    account: SimAccount | None = None
    transaction: SimTransaction | None = None
    refid: str = ""
    extra: dict = field(default_factory=dict)


class Rejected(Exception):
    """A response=3 answer: nothing is recorded in the ledger."""

    def __init__(self, text: str, *, refid: bool = True, code: str = "300"):
        self.refid = new_refid() if refid else ""
        super().__init__(f"{text} REFID:{self.refid}" if refid else text)
        self.text = str(self)
        self.code = code


@dataclass(frozen=True)
class Source:
    """The card behind a request: a resolved profile plus what the gateway knows about it."""

    profile: cards.CardProfile
    exp: str = ""
    cvv_result: str = ""
    token: SimToken | None = None
    customer: SimCustomer | None = None
    sandbox_token: bool = False


def handle(params: dict[str, str], *, public_base: str = "", ip: str = "") -> Result:
    params = {LEGACY_NAMES.get(k, k): v for k, v in params.items()}
    account = services.account_for_security_key(params.get("security_key", ""))
    echo = {"orderid": params.get("orderid", ""), "type": params.get("type", "")}
    if account is None:
        # protocols.md §1.4: `response=3&responsetext=Authentication Failed&…&transactionid=0&…&response_code=300`
        return Result({"response": ERROR, "responsetext": "Authentication Failed", "transactionid": "0",
                       "response_code": "300", **echo})
    moment = now()
    # The batch close commits on its own, so a request that is then rejected does not undo it; the request
    # is handled at the same instant, so it sees exactly the batches that closed by then.
    settlement.close_due(account=account, now=moment)
    try:
        with transaction.atomic():
            account = SimAccount.objects.select_for_update().get(pk=account.pk)
            context = _Context(account=account, params=params, moment=moment, public_base=public_base, ip=ip)
            return context.run()
    except Rejected as rejected:
        return Result({"response": ERROR, "responsetext": rejected.text, "response_code": rejected.code, **echo},
                      account=account, refid=rejected.refid)


@dataclass
class _Context:
    account: SimAccount
    params: dict[str, str]
    moment: datetime
    public_base: str = ""
    ip: str = ""

    def p(self, name: str) -> str:
        return (self.params.get(name) or "").strip()

    def run(self) -> Result:
        vault_action, type_ = self.p("customer_vault"), self.p("type")
        if vault_action and not type_:
            return self.vault(vault_action)
        if type_ not in TYPES:
            raise Rejected("Invalid Transaction Type")  # [GUESS]
        return getattr(self, f"do_{type_}")()

    # --- helpers ----------------------------------------------------------------------------------------
    def currency(self) -> str:
        try:
            code = normalize_currency(self.p("currency") or self.account.currency)
            currency_exponent(code)
            return code
        except CurrencyError:
            raise Rejected("Invalid Currency")  # [GUESS]

    def amount(self, currency: str, *, required: bool = True) -> int | None:
        text = self.p("amount")
        if not text:
            if required:
                raise Rejected("Invalid amount")  # [GUESS]
            return None
        try:
            return parse_amount(text, currency)
        except AmountError:
            raise Rejected("Invalid amount")  # [GUESS]

    def target(self, *types: str) -> SimTransaction:
        txn = (self.account.transactions.select_related("original_transaction")
               .filter(transaction_id=self.p("transactionid")).first())
        if txn is None or (types and txn.type not in types):
            raise Rejected("Invalid Transaction ID specified")  # protocols.md §1.4 fixture
        return txn

    def billing(self) -> dict[str, str]:
        values = {name: self.p(name) for name in BILLING_FIELDS}
        values["country"] = values["country"][:2].upper()
        return values

    def source(self, *, allow_vault: bool = True) -> Source:
        token, ccnumber = self.p("payment_token"), self.p("ccnumber")
        vault_id = self.p("customer_vault_id") if allow_vault and not self.p("customer_vault") else ""
        if token and vault_id and not ccnumber:  # a vaulted card charged with a CVV-only Collect.js token
            return self.vault_with_cvv_source(vault_id, token)
        given = [bool(token), bool(ccnumber), bool(vault_id)]
        if sum(given) == 0:
            raise Rejected("No payment information was provided")  # [GUESS]
        if sum(given) > 1:
            raise Rejected("Only one payment method may be provided")  # [GUESS]
        if token:
            return self.token_source(token)
        if ccnumber:
            profile = cards.resolve(ccnumber)
            if profile is None:
                raise Rejected("Invalid Credit Card Number")  # "To trigger a fatal error message, pass an invalid card number."
            exp = services.normalize_exp(self.p("ccexp"))
            if exp is None:
                raise Rejected("Invalid Credit Card Expiration Date")  # [GUESS]
            return Source(profile, exp=exp, cvv_result=services.cvv_result_for(self.p("cvv"), profile.card))
        customer = self.account.vault.filter(customer_vault_id=vault_id).first()
        if customer is None:
            raise Rejected("Invalid Customer Vault Id")  # [GUESS]
        return Source(_profile_of(customer), exp=customer.cc_exp, customer=customer)

    def token_source(self, token: str) -> Source:
        profile = cards.profile_of_token(token)
        if profile is not None:  # a sandbox test token: never expires, reusable
            return Source(profile, cvv_result=(profile.card.cvv_result if profile.card else ""), sandbox_token=True)
        row = self.account.tokens.filter(token=token).first()
        if row is None or row.expires_at <= self.moment or not row.cc_last4:  # a CVV-only token has no card
            raise Rejected("Invalid Payment Token")  # [GUESS] (§1.7: reused/unknown token → 300)
        return Source(_profile_of(row), exp=row.cc_exp, cvv_result=row.cvv_result, token=row)

    def vault_with_cvv_source(self, vault_id: str, token: str) -> Source:
        """The vault record's card, with the CVV check of a CVV-only token (spent like any token)."""
        customer = self.account.vault.filter(customer_vault_id=vault_id).first()
        if customer is None:
            raise Rejected("Invalid Customer Vault Id")  # [GUESS]
        row = self.account.tokens.filter(token=token).first()
        if row is None or row.expires_at <= self.moment or row.cc_last4:
            raise Rejected("Invalid Payment Token")  # [GUESS]
        return Source(_profile_of(customer), exp=customer.cc_exp, customer=customer, cvv_result=row.cvv_result,
                      token=row)

    def spend_token(self, source: Source) -> None:
        """Collect.js tokens are 'usable only once' (Payment API variables, payment_token)."""
        if source.token is None:
            return
        if not SimToken.objects.filter(pk=source.token.pk, used_at__isnull=True).update(used_at=self.moment):
            raise Rejected("Payment Token has already been used")  # [GUESS]

    def avs(self) -> str:
        # "To simulate an AVS match, pass 888 in the address1 field, 77777 for zip." Anything else: no match.
        address_match, zip_match = "888" in self.p("address1"), self.p("zip") == "77777"
        if address_match and zip_match:
            return "Y"
        if zip_match:
            return "Z"
        if address_match:
            return "A"
        return "N"

    def check_duplicate(self, type_: str, amount: int, currency: str, source: Source) -> None:
        window = self.account.dup_seconds if self.account.dup_seconds is not None else conf.get("NMI_SIM_DUP_SECONDS")
        if self.p("dup_seconds"):
            try:
                window = min(max(int(self.p("dup_seconds")), 0), MAX_DUP_SECONDS)
            except ValueError:
                raise Rejected("Invalid dup_seconds")  # [GUESS]
        if window == 0:  # "Set to 0 to disable duplicate checking."
            return
        # Same card, amount and order id within the window (protocols.md §1.6); only approvals count.
        if self.account.transactions.filter(
                type=type_, response=APPROVED, amount_minor=amount, currency=currency, cc_hash=source.profile.hash,
                orderid=self.p("orderid"), created_at__gte=self.moment - timedelta(seconds=window)).exists():
            raise Rejected("Duplicate transaction")

    def check_stored_credential(self, source: Source) -> None:
        initial = self.p("initial_transaction_id")
        if not initial:
            return
        first = self.account.transactions.filter(transaction_id=initial).first()
        if first is None:
            raise Rejected("Invalid initial_transaction_id")  # [GUESS]
        if first.cc_type != source.profile.brand:
            # "we will reject any follow up transactions that pass in a card number that does not match the
            # card brand used in the initial transaction" (Credential on File)
            raise Rejected("Card brand does not match the initial transaction")  # [GUESS] wording

    def card_reply(self, obj) -> dict[str, str]:
        """Simulator extension: the card's brand, BIN, masked number, funding, product and issuing country."""
        if not obj.cc_last4:
            return {}
        return {"cc_number": obj.cc_number_masked, "cc_bin": obj.cc_bin, "cc_type": obj.cc_type, "cc_exp": obj.cc_exp,
                "cc_funding": obj.cc_funding, "cc_product": "commercial" if obj.cc_commercial else "consumer",
                "cc_issuer_country": obj.cc_issuer_country}

    def reply(self, txn: SimTransaction, *, type_: str, **extra: str) -> Result:
        fields = {"response": txn.response, "responsetext": txn.responsetext, "authcode": txn.authcode,
                  "transactionid": txn.transaction_id, "avsresponse": txn.avsresponse,
                  "cvvresponse": txn.cvvresponse, "orderid": self.p("orderid") or txn.orderid, "type": type_,
                  "response_code": txn.response_code}
        if txn.customer_vault_id:
            fields["customer_vault_id"] = txn.customer_vault_id
        fields.update(extra)
        fields.update(self.card_reply(txn))
        return Result(fields, account=self.account, transaction=txn)

    def record(self, txn: SimTransaction, action_type: str, amount: int, *, success: bool) -> SimAction:
        action = SimAction.objects.create(transaction=txn, action_type=action_type, amount_minor=amount,
                                          date=self.moment, success=success, response_code=txn.response_code,
                                          response_text=txn.responsetext, ip_address=self.ip)
        event = f"transaction.{action_type}.{'success' if success else 'failure'}"
        webhooks.send_on_commit(self.account, event, webhooks.transaction_body(txn, action))
        return action

    # --- sale / auth / validate / credit ------------------------------------------------------------------
    def do_sale(self) -> Result:
        return self.authorize("sale")

    def do_auth(self) -> Result:
        return self.authorize("auth")

    def do_validate(self) -> Result:
        return self.authorize("validate")

    def authorize(self, type_: str) -> Result:
        currency = self.currency()
        if type_ == "validate":
            # "For validate, the amount must be omitted or set to 0.00."
            amount = self.amount(currency, required=False) or 0
            if amount:
                raise Rejected("Validate amount must be omitted or 0.00")  # [GUESS]
        else:
            amount = self.amount(currency)
            if amount == 0:
                raise Rejected("Invalid amount")  # [GUESS]
        source = self.source()
        self.check_stored_credential(source)
        if type_ != "validate":
            self.check_duplicate(type_, amount, currency, source)
        self.spend_token(source)
        behaviour, decline = cards.outcome_of(source.profile)
        if decline is None and _expired(source.exp, self.moment):
            decline = cards.Decline("223", "Expired card", "223")
        if decline is None and type_ != "validate":
            trigger = cards.amount_trigger(amount, currency_exponent(currency))
            if trigger:
                decline = cards.Decline(trigger[0], trigger[1], "")
        challenge = (decline is None and type_ != "validate" and behaviour == cards.THREE_DS_CHALLENGE
                     and not (self.p("cardholder_auth") in ("verified", "attempted") and self.p("cavv")))
        txn = SimTransaction(
            account=self.account, transaction_id=new_numeric_id(10), type=type_, orderid=self.p("orderid"),
            order_description=self.p("order_description"), ponumber=self.p("ponumber"), amount_minor=amount,
            currency=currency, avsresponse=self.avs(), cvvresponse=source.cvv_result,
            customer_vault_id=source.customer.customer_vault_id if source.customer else "",
            initiated_by=self.p("initiated_by"), stored_credential_indicator=self.p("stored_credential_indicator"),
            initial_transaction_id=self.p("initial_transaction_id"), ipaddress=self.p("ipaddress") or self.ip,
            cardholder_auth=self.p("cardholder_auth"), cavv=self.p("cavv"), xid=self.p("xid"),
            three_ds_version=self.p("three_ds_version"), created_at=self.moment, updated_at=self.moment,
            **{k: v for k, v in self.billing().items() if hasattr(SimTransaction, k)},
            **services.card_fields(source.profile, source.exp))
        extra: dict[str, str] = {}
        if decline is not None:
            txn.response, txn.response_code, txn.responsetext = DECLINED, decline.response_code, decline.responsetext
            txn.condition = Condition.FAILED
        elif challenge:
            # Simulator extension (package docstring): the sale waits for the cardholder at the challenge page.
            txn.response, txn.response_code, txn.responsetext = DECLINED, "260", "3DS authentication required"
            txn.condition, txn.challenge_id = Condition.IN_PROGRESS, uuid.uuid4().hex
            extra["three_ds_challenge_url"] = f"{self.public_base}/3ds/{txn.challenge_id}"
        else:
            txn.response, txn.response_code, txn.responsetext = APPROVED, "100", "SUCCESS"
            txn.authcode = new_authcode()
            txn.condition = {"sale": Condition.PENDING_SETTLEMENT, "auth": Condition.PENDING}.get(type_, Condition.COMPLETE)
            if type_ == "sale":
                txn.settle_eligible_at = self.moment
        txn.save()
        if not challenge:
            self.record(txn, type_, amount, success=decline is None)
        if decline is None and not challenge and self.p("customer_vault") in ("add_customer", "update_customer"):
            customer = self.vault_upsert(self.p("customer_vault"), source)
            extra["customer_vault_id"] = customer.customer_vault_id
        return self.reply(txn, type_=type_, **extra)

    def do_credit(self) -> Result:
        if not self.account.credits_enabled:
            raise Rejected("Credit transactions are not allowed for this account")  # [GUESS]
        currency = self.currency()
        amount = self.amount(currency)
        source = self.source()
        self.spend_token(source)
        txn = SimTransaction.objects.create(
            account=self.account, transaction_id=new_numeric_id(10), type="credit", orderid=self.p("orderid"),
            amount_minor=amount, currency=currency, response=APPROVED, response_code="100", responsetext="SUCCESS",
            condition=Condition.PENDING_SETTLEMENT, settle_eligible_at=self.moment, created_at=self.moment,
            updated_at=self.moment, **services.card_fields(source.profile, source.exp))
        self.record(txn, "credit", amount, success=True)
        return self.reply(txn, type_="credit")

    # --- capture / void / refund / update -------------------------------------------------------------------
    def do_capture(self) -> Result:
        txn = self.target()
        if txn.type != SimTransaction.Type.AUTH or txn.condition != Condition.PENDING:
            raise Rejected("Transaction is not eligible for capture")  # [GUESS]
        amount = self.amount(txn.currency)
        if not amount:
            raise Rejected("Invalid amount")  # [GUESS]
        if amount > txn.amount_minor:
            # "This amount must be equal to or less than the original authorized amount."
            raise Rejected(f"The specified amount of {format_amount(amount, txn.currency)} exceeds the authorization "
                           f"amount of {format_amount(txn.amount_minor, txn.currency)}")  # [GUESS] wording
        txn.captured_amount_minor, txn.condition = amount, Condition.PENDING_SETTLEMENT
        txn.settle_eligible_at = txn.updated_at = self.moment
        txn.save(update_fields=["captured_amount_minor", "condition", "settle_eligible_at", "updated_at"])
        self._record_reply_action(txn, "capture", amount, "SUCCESS")
        return self.reply(txn, type_="capture", response=APPROVED, responsetext="SUCCESS", response_code="100")

    def do_void(self) -> Result:
        txn = self.target()
        # "Voids can only occur if the transaction has not been settled." (sale, captured or uncaptured
        # auth, and refunds/credits still pending settlement)
        if txn.condition not in (Condition.PENDING, Condition.PENDING_SETTLEMENT) or txn.type == "validate":
            raise Rejected("Only transactions pending settlement can be voided")  # protocols.md §1.4 fixture
        amount = txn.captured_amount_minor if txn.captured_amount_minor is not None else txn.amount_minor
        txn.condition, txn.updated_at = Condition.CANCELED, self.moment
        txn.save(update_fields=["condition", "updated_at"])
        self._record_reply_action(txn, "void", amount, "Transaction Void Successful")
        return self.reply(txn, type_="void", response=APPROVED, responsetext="Transaction Void Successful",
                          response_code="100")

    def do_refund(self) -> Result:
        original = self.target(SimTransaction.Type.SALE, SimTransaction.Type.AUTH)
        # "Transaction refunds will reverse a previously settled or pending settlement transaction."
        if original.condition not in (Condition.PENDING_SETTLEMENT, Condition.COMPLETE):
            raise Rejected("Only transactions pending settlement or settled can be refunded")  # [GUESS]
        refunded = original.refunds.exclude(condition=Condition.CANCELED).aggregate(t=Sum("amount_minor"))["t"] or 0
        disputed = (original.chargebacks.exclude(status=SimChargeback.Status.WON)
                    .aggregate(t=Sum("amount_minor"))["t"] or 0)
        balance = original.settle_amount_minor - refunded - disputed
        amount = self.amount(original.currency, required=False)
        if not amount:  # "Setting the amount to 0.00 will refund the entire amount."
            amount = balance
        if amount <= 0 or amount > balance:
            raise Rejected("Refund amount may not exceed the transaction balance")  # [GUESS]
        refund = SimTransaction.objects.create(
            account=self.account, transaction_id=new_numeric_id(10), type=SimTransaction.Type.REFUND,
            condition=Condition.PENDING_SETTLEMENT, orderid=self.p("orderid") or original.orderid,
            amount_minor=amount, currency=original.currency, response=APPROVED, response_code="100",
            responsetext="SUCCESS", original_transaction=original, customer_vault_id=original.customer_vault_id,
            settle_eligible_at=self.moment, created_at=self.moment, updated_at=self.moment,
            **{name: getattr(original, name) for name in _CARD_FIELD_NAMES})
        self.record(refund, "refund", amount, success=True)
        return self.reply(refund, type_="refund")

    def do_update(self) -> Result:
        txn = self.target()
        changed = [name for name in ("order_description", "ponumber") if self.p(name)]
        for name in changed:
            setattr(txn, name, self.p(name))
        txn.updated_at = self.moment
        txn.save(update_fields=[*changed, "updated_at"])
        return self.reply(txn, type_="update", response=APPROVED, responsetext="SUCCESS", response_code="100")

    def _record_reply_action(self, txn: SimTransaction, action_type: str, amount: int, text: str) -> None:
        action = SimAction.objects.create(transaction=txn, action_type=action_type, amount_minor=amount,
                                          date=self.moment, success=True, response_code="100", response_text=text,
                                          ip_address=self.ip)
        webhooks.send_on_commit(self.account, f"transaction.{action_type}.success",
                                webhooks.transaction_body(txn, action))

    # --- Customer Vault ------------------------------------------------------------------------------------------
    def vault(self, action: str) -> Result:
        if action not in VAULT_ACTIONS:
            raise Rejected("Invalid Customer Vault action")  # [GUESS]
        if action == "delete_customer":
            deleted, _ = self.account.vault.filter(customer_vault_id=self.p("customer_vault_id")).delete()
            if not deleted:
                raise Rejected("Invalid Customer Vault Id")  # [GUESS]
            return self.vault_reply("Customer Deleted", None)
        source = None
        if self.p("payment_token") or self.p("ccnumber"):
            source = self.source(allow_vault=False)
        elif self.p("source_transaction_id"):
            original = self.account.transactions.filter(transaction_id=self.p("source_transaction_id")).first()
            if original is None or not original.cc_last4:
                raise Rejected("Invalid source_transaction_id")  # [GUESS]
            source = Source(_profile_of(original), exp=original.cc_exp)
        elif action == "add_customer":
            raise Rejected("No payment information was provided")  # [GUESS]
        if source is not None:
            self.spend_token(source)
        customer = self.vault_upsert(action, source)
        text = "Customer Added" if action == "add_customer" else "Customer Update Successful"
        return self.vault_reply(text, customer)

    def vault_upsert(self, action: str, source: Source | None) -> SimCustomer:
        vault_id = self.p("customer_vault_id")
        billing = {k: v for k, v in self.billing().items() if v}
        card = services.card_fields(source.profile, source.exp) if source else {}
        if action == "add_customer":
            vault_id = vault_id or new_numeric_id(9)
            if self.account.vault.filter(customer_vault_id=vault_id).exists():
                raise Rejected("Duplicate Customer Vault Id")  # [GUESS]
            return SimCustomer.objects.create(account=self.account, customer_vault_id=vault_id,
                                              billing_id=self.p("billing_id") or new_numeric_id(9),
                                              created_at=self.moment, updated_at=self.moment, **billing, **card)
        customer = self.account.vault.filter(customer_vault_id=vault_id).first()
        if customer is None:
            raise Rejected("Invalid Customer Vault Id")  # [GUESS]
        for name, value in {**billing, **card}.items():
            setattr(customer, name, value)
        customer.updated_at = self.moment
        customer.save()
        return customer

    def vault_reply(self, text: str, customer: SimCustomer | None) -> Result:
        # protocols.md §1.3: `response=1&responsetext=Customer Added&…&response_code=100&customer_vault_id=…`
        fields = {"response": APPROVED, "responsetext": text, "response_code": "100",
                  "orderid": self.p("orderid"), "customer_vault_id": self.p("customer_vault_id")}
        if customer is not None:
            fields["customer_vault_id"] = customer.customer_vault_id
            fields.update(self.card_reply(customer))
        return Result(fields, account=self.account)


_CARD_FIELD_NAMES = ("card_key", "cc_type", "cc_bin", "cc_last4", "cc_hash", "cc_exp", "cc_funding", "cc_commercial",
                     "cc_issuer_country")


def _profile_of(obj) -> cards.CardProfile:
    return cards.CardProfile(obj.card_key, obj.cc_type, obj.cc_funding, obj.cc_issuer_country, obj.cc_commercial,
                             obj.cc_bin, obj.cc_last4, obj.cc_hash)


def _expired(exp: str, moment: datetime) -> bool:
    """MMYY in the past (the card is valid through the end of its month)."""
    if len(exp) != 4 or not exp.isdigit():
        return False
    month, year = int(exp[:2]), 2000 + int(exp[2:])
    return (year, month) < (moment.year, moment.month)


# --- 3-D Secure challenge ---------------------------------------------------------------------------------------
class ChallengeNotFound(LookupError):
    pass


def challenge_get(challenge_id: str) -> SimTransaction:
    txn = SimTransaction.objects.select_related("account").filter(challenge_id=challenge_id).first()
    if txn is None or not challenge_id:
        raise ChallengeNotFound(challenge_id)
    return txn


@transaction.atomic
def challenge_complete(challenge_id: str, *, authenticated: bool) -> SimTransaction:
    """The cardholder passed (or failed) the challenge: the waiting sale/auth is authorised or declined.

    Idempotent: a second click, or a click after the challenge was abandoned, changes nothing.
    """
    txn = challenge_get(challenge_id)
    SimAccount.objects.select_for_update().get(pk=txn.account_id)
    txn.refresh_from_db()
    if txn.condition != Condition.IN_PROGRESS:
        return txn
    moment = now()
    if authenticated:
        txn.response, txn.response_code, txn.responsetext = APPROVED, "100", "SUCCESS"
        txn.authcode = new_authcode()
        txn.cardholder_auth, txn.three_ds_version = "verified", "2.2.0"
        txn.cavv = base64.b64encode(secrets.token_bytes(20)).decode()
        txn.xid = base64.b64encode(secrets.token_bytes(20)).decode()
        txn.condition = Condition.PENDING_SETTLEMENT if txn.type == "sale" else Condition.PENDING
        if txn.type == "sale":
            txn.settle_eligible_at = moment
    else:
        txn.response, txn.response_code, txn.responsetext = DECLINED, "260", "3DS authentication failed"
        txn.condition = Condition.FAILED
    txn.updated_at = moment
    txn.save()
    action = SimAction.objects.create(transaction=txn, action_type=txn.type, amount_minor=txn.amount_minor, date=moment,
                                      success=authenticated, response_code=txn.response_code,
                                      response_text=txn.responsetext)
    webhooks.send_on_commit(txn.account, f"transaction.{txn.type}.{'success' if authenticated else 'failure'}",
                            webhooks.transaction_body(txn, action))
    return txn
