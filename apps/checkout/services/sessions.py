"""Checkout sessions (page 018): create, change while open, pay (the completion service), complete, expire.

Completion is safe against double submits, back-button resubmits and concurrent completion:
1. under the session's row lock: the buyer (created or linked by email), the session's ONE invoice
   (OneToOne; created and finalized at the first attempt, reused by every later one) and, for a payment
   link with a use limit, one reserved use; committed;
2. `billing.services.invoice_pay` charges it: it refuses a second attempt while one is in flight, so two
   concurrent completions reach the gateway once;
3. `checkout_session_complete_paid` moves the session to complete exactly once (a compare-and-set from
   open), and is also run from the invoice's `invoice.paid` event (3-D Secure finished later, or a lost
   answer found by the reconciler).
The paid invoice brings the rest: the order when items need fulfilment, digital benefits, the receipt
email, `invoice.paid`/`payment.succeeded`; completion adds the products' other benefits and
`checkout.session.completed` (+ `payment_link.completed`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.db import IntegrityError, transaction
from django.db.models import F

from apps.billing.models import Invoice
from apps.catalog.models import Price, PricingModel
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, Conflict, NotFound, ValidationFailed
from apps.core.events import emit_event
from apps.core.money import Money
from apps.core.statemachine import transition
from apps.core.tenancy import Tenant

from ..models import CheckoutSession, CheckoutSessionItem, PaymentLink
from ..payloads import checkout_session_payload

DEFAULT_LIFETIME = timedelta(hours=24)
MAX_LIFETIME = timedelta(days=30)
MIN_LIFETIME = timedelta(minutes=30)
MAX_ITEMS = 20


class SessionClosed(BusinessRuleViolation):
    """The session is expired or complete: it cannot be changed or paid."""

    code = "checkout_session_closed"


def _tenant_of(obj) -> Tenant:
    return Tenant(merchant=obj.merchant, livemode=obj.livemode)


def _same_tenant(obj, tenant: Tenant) -> bool:
    return obj is not None and obj.merchant_id == tenant.merchant.pk and obj.livemode == tenant.livemode


def _emit(session: CheckoutSession, type: str, actor: Actor, request_id: str = "") -> None:
    emit_event(tenant=_tenant_of(session), type=type, data=checkout_session_payload(session), actor=actor,
               request_id=request_id)


def _invalid(errors: dict[str, list[str]]) -> ValidationFailed:
    return ValidationFailed(next(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)


@dataclass(frozen=True, kw_only=True)
class ItemInput:
    price: Price
    quantity: int = 1
    custom_amount_minor: int | None = None  # pay what you want
    adjustable_quantity: bool = False
    min_quantity: int = 1
    max_quantity: int = 99


def _clean_items(tenant: Tenant, items: list[ItemInput], mode: str) -> tuple[str, list[ItemInput]]:
    errors: dict[str, list[str]] = {}
    if mode != CheckoutSession.Mode.SETUP and not items:
        errors["line_items"] = ["at least one item is required"]
    if len(items) > MAX_ITEMS:
        errors["line_items"] = [f"at most {MAX_ITEMS} items"]
    currencies = set()
    for i, item in enumerate(items):
        path = f"line_items[{i}]"
        if not _same_tenant(item.price, tenant):
            raise NotFound(f"No such price: '{item.price.pk}'", param=f"{path}.price_id")
        if not item.price.active or not item.price.product.active:
            errors[f"{path}.price_id"] = ["is archived"]
        if item.price.is_recurring and mode == CheckoutSession.Mode.PAYMENT:
            errors[f"{path}.price_id"] = ["is recurring: use mode=subscription"]
        if not isinstance(item.quantity, int) or not 1 <= item.quantity <= 10_000:
            errors[f"{path}.quantity"] = ["must be a whole number from 1 to 10000"]
        if item.price.pricing_model == PricingModel.PAY_WHAT_YOU_WANT and item.custom_amount_minor is not None:
            minimum = item.price.minimum_amount_minor or 0
            if item.custom_amount_minor < max(minimum, 1):
                errors[f"{path}.custom_amount_minor"] = [f"must be at least {max(minimum, 1)}"]
        currencies.add(item.price.currency)
    if len(currencies) > 1:
        errors["line_items"] = ["all prices must be in one currency"]
    if errors:
        raise _invalid(errors)
    return (currencies.pop() if currencies else tenant.merchant.settlement_currency), items


def _clean_url(value: str, name: str, errors: dict) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    parts = urlsplit(value.replace("{CHECKOUT_SESSION_ID}", "x"))
    if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 1000:
        errors[name] = ["must be an absolute http(s) URL"]
    return value


def checkout_session_create(*, tenant: Tenant, actor: Actor, items: list[ItemInput], mode: str = "payment",
                            customer=None, customer_email: str = "", success_url: str = "", cancel_url: str = "",
                            allow_promotion_codes: bool = False, billing_address_collection: str = "auto",
                            expires_in: timedelta | None = None, expires_at: datetime | None = None,
                            payment_link: PaymentLink | None = None,
                            client_reference_id: str = "", metadata: dict | None = None,
                            request_id: str = "") -> CheckoutSession:
    """A session in `open`, expiring after 24 hours unless `expires_in` (or an exact `expires_at`, as the API
    takes it) says otherwise (30 min – 30 days)."""
    errors: dict[str, list[str]] = {}
    if mode not in CheckoutSession.Mode.values:
        raise ValidationFailed.not_one_of("mode", CheckoutSession.Mode.values)
    if mode == CheckoutSession.Mode.SUBSCRIPTION:
        raise BusinessRuleViolation("Subscription mode is not available yet: subscriptions arrive with their own "
                                    "release. Use mode=payment or mode=setup.", code="mode_not_supported",
                                    param="mode")
    if customer is not None and (not _same_tenant(customer, tenant) or customer.deleted_at is not None):
        raise NotFound(f"No such customer: '{customer.pk}'", param="customer_id")
    if billing_address_collection not in ("auto", "required"):
        errors["billing_address_collection"] = ["must be auto or required"]
    success_url = _clean_url(success_url, "success_url", errors)
    cancel_url = _clean_url(cancel_url, "cancel_url", errors)
    started = now()
    lifetime = (expires_at - started) if expires_at is not None else (expires_in or DEFAULT_LIFETIME)
    if not MIN_LIFETIME <= lifetime <= MAX_LIFETIME:
        errors["expires_at"] = ["must be between 30 minutes and 30 days from now"]
    if errors:
        raise _invalid(errors)
    currency, items = _clean_items(tenant, list(items), mode)
    with transaction.atomic():
        session = CheckoutSession.objects.create(
            merchant=tenant.merchant, livemode=tenant.livemode, mode=mode, payment_link=payment_link,
            customer=customer, customer_email=(customer.email if customer else customer_email.strip().lower()),
            currency=currency, allow_promotion_codes=allow_promotion_codes,
            billing_address_collection=billing_address_collection, success_url=success_url, cancel_url=cancel_url,
            expires_at=started + lifetime, client_reference_id=client_reference_id[:200], metadata=metadata or {})
        CheckoutSessionItem.objects.bulk_create([
            CheckoutSessionItem(merchant=tenant.merchant, livemode=tenant.livemode, session=session, price=item.price,
                                quantity=item.quantity, custom_amount_minor=item.custom_amount_minor,
                                adjustable_quantity=item.adjustable_quantity, min_quantity=item.min_quantity,
                                max_quantity=item.max_quantity, position=i)
            for i, item in enumerate(items)])
        checkout_session_refresh_totals(session=session)
        _emit(session, "checkout.session.created", actor, request_id)
    return session


# --- totals ----------------------------------------------------------------------------------------------
def _buyer_for_tax(session: CheckoutSession):
    """The customer as tax sees it: the linked customer, or the details typed on the page."""
    if session.customer is not None:
        return session.customer
    address = (session.customer_details or {}).get("address") or {}
    tax_id = (session.customer_details or {}).get("tax_id")
    return SimpleNamespace(merchant=session.merchant, billing_address=address or None, metadata={},
                           tax_ids=[tax_id] if isinstance(tax_id, dict) else [])


def session_line_inputs(session: CheckoutSession) -> list:
    from apps.billing.services import LineInput

    return [LineInput(price=item.price, quantity=item.quantity, unit_amount_minor=item.custom_amount_minor)
            for item in session.items.select_related("price__product").order_by("position", "id")]


def checkout_session_refresh_totals(*, session: CheckoutSession) -> CheckoutSession:
    """Subtotal, discount, tax and total from the billing code that will invoice them."""
    from apps.billing.services import compute_totals
    from apps.billing.services.invoices import invoice_line_preview

    tenant = _tenant_of(session)
    lines = [SimpleNamespace(**invoice_line_preview(tenant=tenant, currency=session.currency, line=line))
             for line in session_line_inputs(session)]
    totals = compute_totals(tenant=tenant, customer=_buyer_for_tax(session), currency=session.currency,
                            lines=lines, discount=session.discount)
    CheckoutSession.objects.filter(pk=session.pk).update(
        subtotal_minor=totals.subtotal, discount_minor=totals.discount, tax_minor=totals.tax,
        total_minor=totals.total, updated_at=now())
    session.subtotal_minor, session.discount_minor = totals.subtotal, totals.discount
    session.tax_minor, session.total_minor = totals.tax, totals.total
    return session


# --- the buyer ---------------------------------------------------------------------------------------------
def _customer_for(session: CheckoutSession, *, tenant: Tenant, actor: Actor, request_id: str):
    """The session's customer, else the merchant's customer with this email, else a new one."""
    from apps.customers import services as customer_services
    from apps.customers.models import Customer

    if session.customer_id:
        return Customer.objects.get(pk=session.customer_id)
    email = session.customer_email
    existing = Customer.objects.filter(merchant=tenant.merchant, livemode=tenant.livemode, deleted_at__isnull=True,
                                       email__iexact=email).first()
    if existing is not None:
        return existing
    details = session.customer_details or {}
    data = {"email": email, "name": details.get("name", ""), "phone": details.get("phone", ""),
            "currency": session.currency}
    if details.get("address"):
        data["billing_address"] = details["address"]
    if details.get("shipping"):
        data["shipping_address"] = details["shipping"]
    try:
        with transaction.atomic():
            return customer_services.customer_create(tenant=tenant, actor=actor, data=data, request_id=request_id)
    except (IntegrityError, ValidationFailed):
        # Created by a concurrent checkout with the same email a moment ago: link to it.
        found = Customer.objects.filter(merchant=tenant.merchant, livemode=tenant.livemode, deleted_at__isnull=True,
                                        email__iexact=email).first()
        if found is None:
            raise
        return found


# --- pay ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PayOutcome:
    session: CheckoutSession
    payment: object | None  # payments.Payment (None when nothing was charged)


def _lock(session: CheckoutSession) -> CheckoutSession:
    """The session under its row lock. Its customer and invoice are NOT joined here: a lock that waited
    for a concurrent completion sees the row's new invoice_id, but a join would still read the invoice
    (created by that transaction) from the old snapshot, as NULL. They are loaded after the lock."""
    return CheckoutSession.objects.select_for_update(of=("self",)).select_related("merchant").get(pk=session.pk)


def _require_open(session: CheckoutSession) -> None:
    """An open session past its expiry is closed already (the expiry job records it)."""
    if session.status == CheckoutSession.Status.OPEN and session.expires_at <= now():
        raise SessionClosed("This checkout has expired; start a new one.")
    if session.status != CheckoutSession.Status.OPEN:
        raise SessionClosed(f"This checkout is {session.status}; start a new one.")


def _reserve_link_use(session: CheckoutSession) -> None:
    """A payment link with a use limit keeps one use for this session while it pays (released on a decline)."""
    link = PaymentLink.objects.select_for_update().get(pk=session.payment_link_id)
    if link.status != PaymentLink.Status.ACTIVE or (link.expires_at and link.expires_at <= now()):
        raise SessionClosed("This payment link is no longer accepting payments.")
    if link.max_uses is not None:
        if session.metadata.get("_reserved_use"):
            return
        if link.uses_count >= link.max_uses:
            raise SessionClosed("This payment link has reached its maximum number of uses.")
        PaymentLink.objects.filter(pk=link.pk).update(uses_count=F("uses_count") + 1)
        session.metadata = {**session.metadata, "_reserved_use": True}
        CheckoutSession.objects.filter(pk=session.pk).update(metadata=session.metadata)


def _release_link_use(session_id: str) -> None:
    with transaction.atomic():
        session = CheckoutSession.objects.select_for_update().get(pk=session_id)
        if session.metadata.get("_reserved_use") and session.status == CheckoutSession.Status.OPEN:
            PaymentLink.objects.filter(pk=session.payment_link_id, uses_count__gt=0).update(
                uses_count=F("uses_count") - 1)
            session.metadata = {k: v for k, v in session.metadata.items() if k != "_reserved_use"}
            CheckoutSession.objects.filter(pk=session.pk).update(metadata=session.metadata)


def _prepare_invoice(session: CheckoutSession, *, tenant: Tenant, actor: Actor, request_id: str):
    from apps.billing import services as billing

    if session.invoice_id:
        return Invoice.objects.get(pk=session.invoice_id)
    invoice = billing.invoice_create(
        tenant=tenant, actor=actor, customer=session.customer, currency=session.currency,
        lines=session_line_inputs(session), discount=session.discount, source="checkout",
        collection_method="charge_automatically", days_until_due=0,
        description=f"Checkout {session.pk}", metadata={"checkout_session_id": session.pk},
        request_id=request_id)
    CheckoutSession.objects.filter(pk=session.pk).update(invoice=invoice)
    session.invoice = invoice
    return billing.invoice_finalize(tenant=tenant, actor=actor, invoice=invoice, request_id=request_id)


def checkout_session_pay(*, session: CheckoutSession, actor: Actor, payment_token: str = "", payment_method=None,
                         request_id: str = "") -> PayOutcome:
    """The completion service. The page (or an API client) has set the email and details; this takes the
    money once and completes the session. Returns the completed session, or the session with a payment in
    `requires_action` (3-D Secure). Raises PaymentDeclined (the session stays open, a new card may be
    tried), SessionClosed, Conflict (an attempt is already in flight), ValidationFailed."""
    from apps.billing import services as billing
    from apps.payments.models import Payment

    tenant = _tenant_of(session)
    with transaction.atomic():
        locked = _lock(session)
        if locked.status == CheckoutSession.Status.COMPLETE:  # a resubmit after success: the same result
            return PayOutcome(session=locked, payment=locked.payment)
        _require_open(locked)
        if locked.mode != CheckoutSession.Mode.PAYMENT:
            raise BusinessRuleViolation("Only payment-mode sessions take a payment here.", code="mode_not_supported")
        if not locked.customer_email and not locked.customer_id:
            raise _invalid({"email": ["is required"]})
        if locked.payment_link_id:
            _reserve_link_use(locked)
        locked.customer = _customer_for(locked, tenant=tenant, actor=actor, request_id=request_id)
        CheckoutSession.objects.filter(pk=locked.pk).update(customer=locked.customer)
        invoice = _prepare_invoice(locked, tenant=tenant, actor=actor, request_id=request_id)
        CheckoutSession.objects.filter(pk=locked.pk).update(last_step=CheckoutSession.Step.PAYMENT,
                                                            last_activity_at=now())
    if invoice.status == "paid":  # nothing to pay (a 100 % discount), or paid by a concurrent completion
        return PayOutcome(session=checkout_session_complete_paid(invoice=invoice, actor=actor,
                                                                 request_id=request_id), payment=None)
    try:
        result = billing.invoice_pay(tenant=tenant, actor=actor, invoice=invoice, payment_token=payment_token,
                                     payment_method=payment_method, request_id=request_id)
    except Conflict:
        raise
    except Exception:
        CheckoutSession.objects.filter(pk=session.pk).update(last_step=CheckoutSession.Step.DECLINED,
                                                             last_activity_at=now())
        _release_link_use(session.pk)
        raise
    payment = result.payment
    CheckoutSession.objects.filter(pk=session.pk).update(payment=payment)
    if payment.status == Payment.Status.SUCCEEDED:
        return PayOutcome(session=checkout_session_complete_paid(invoice=result.invoice, actor=actor,
                                                                 request_id=request_id), payment=payment)
    return PayOutcome(session=CheckoutSession.objects.get(pk=session.pk), payment=payment)


def checkout_session_setup(*, session: CheckoutSession, actor: Actor, payment_token: str,
                           request_id: str = "") -> CheckoutSession:
    """Setup mode: saves the card (a one-time gateway token) to the buyer's customer in the gateway's vault,
    no money moves; the session completes with payment_status `no_payment_required`. One vaulting per
    session: the claim is taken under the session's lock and committed before the gateway call, so a double
    submit is refused while the first is at the gateway and answered with the result after it."""
    from apps.payments import services as payments

    tenant = _tenant_of(session)
    with transaction.atomic():
        locked = _lock(session)
        if locked.status == CheckoutSession.Status.COMPLETE:
            return locked
        _require_open(locked)
        if locked.mode != CheckoutSession.Mode.SETUP:
            raise BusinessRuleViolation("Only a setup-mode session saves a card without paying.",
                                        code="mode_not_supported")
        if not locked.customer_email and not locked.customer_id:
            raise _invalid({"email": ["is required"]})
        if locked.metadata.get("_setup_claimed"):
            raise Conflict("The card is being saved; wait a moment.", code="checkout_setup_in_progress")
        customer = _customer_for(locked, tenant=tenant, actor=actor, request_id=request_id)
        locked.metadata = {**locked.metadata, "_setup_claimed": True}
        CheckoutSession.objects.filter(pk=locked.pk).update(customer=customer, metadata=locked.metadata,
                                                            last_step=CheckoutSession.Step.PAYMENT,
                                                            last_activity_at=now())
    try:
        method = payments.payment_method_create(tenant=tenant, actor=actor, customer=customer,
                                                payment_token=payment_token, request_id=request_id)
    except Exception:
        with transaction.atomic():
            locked = _lock(session)
            locked.metadata = {k: v for k, v in locked.metadata.items() if k != "_setup_claimed"}
            CheckoutSession.objects.filter(pk=locked.pk).update(metadata=locked.metadata,
                                                                last_step=CheckoutSession.Step.DECLINED)
        raise
    with transaction.atomic():
        locked = _lock(session)
        transition(locked, "complete", actor=actor, reason="card saved", extra_updates={
            "payment_status": CheckoutSession.PaymentStatus.NO_PAYMENT_REQUIRED, "payment_method": method,
            "completed_at": now(), "last_step": CheckoutSession.Step.COMPLETED, "last_activity_at": now()})
        _emit(locked, "checkout.session.completed", actor, request_id)
    return locked


def checkout_session_complete_paid(*, invoice, actor: Actor, request_id: str = "") -> CheckoutSession | None:
    """open → complete once the session's invoice is paid; idempotent (returns the session either way)."""
    from apps.catalog.services import benefits_grant_for_purchase

    session = CheckoutSession.objects.filter(invoice_id=invoice.pk).first()
    if session is None:
        return None
    tenant = _tenant_of(session)
    with transaction.atomic():
        locked = _lock(session)
        invoice = Invoice.objects.get(pk=locked.invoice_id)
        if locked.status != CheckoutSession.Status.OPEN or invoice.status != "paid":
            return locked
        transition(locked, "complete", actor=actor, reason="paid", extra_updates={
            "payment_status": CheckoutSession.PaymentStatus.PAID, "completed_at": now(),
            "last_step": CheckoutSession.Step.COMPLETED, "last_activity_at": now()})
        for line in invoice.lines.select_related("product"):
            if line.product is not None:
                benefits_grant_for_purchase(tenant=tenant, customer=locked.customer, product=line.product,
                                            actor=actor, source_reference=locked.pk, request_id=request_id)
        if locked.payment_link_id:
            updates = {"revenue_minor": F("revenue_minor") + invoice.amount_paid_minor}
            if not locked.metadata.get("_reserved_use"):  # links without a limit count at completion
                updates["uses_count"] = F("uses_count") + 1
            PaymentLink.objects.filter(pk=locked.payment_link_id).update(**updates)
        locked.refresh_from_db()
        _emit(locked, "checkout.session.completed", actor, request_id)
        if locked.payment_link_id:
            from ..payloads import payment_link_payload

            link = PaymentLink.objects.get(pk=locked.payment_link_id)
            emit_event(tenant=tenant, type="payment_link.completed", actor=actor, request_id=request_id,
                       data={**payment_link_payload(link), "checkout_session_id": locked.pk})
    return locked


def success_redirect_url(session: CheckoutSession) -> str:
    """`success_url` with {CHECKOUT_SESSION_ID} filled in and the documented parameters added."""
    if not session.success_url:
        return ""
    url = session.success_url.replace("{CHECKOUT_SESSION_ID}", session.pk)
    parts = urlsplit(url)
    params = {"checkout_id": session.pk}
    if session.customer_id:
        params["customer_id"] = session.customer_id
    order = getattr(session.invoice, "order", None) if session.invoice_id else None
    if order is not None:
        params["order_id"] = order.pk
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


# --- expiry ------------------------------------------------------------------------------------------------
def _expire_locked(session: CheckoutSession, *, actor: Actor, request_id: str = "") -> None:
    transition(session, "expired", actor=actor, reason="expired", extra_updates={"expired_at": now()})
    invoice = Invoice.objects.filter(pk=session.invoice_id).first() if session.invoice_id else None
    if invoice is not None and invoice.status not in ("paid", "voided"):
        from apps.billing import services as billing

        billing.invoice_void(tenant=_tenant_of(session), actor=actor, invoice=invoice,
                             reason="checkout session expired", request_id=request_id)
    if session.metadata.get("_reserved_use"):
        PaymentLink.objects.filter(pk=session.payment_link_id, uses_count__gt=0).update(uses_count=F("uses_count") - 1)
    _emit(session, "checkout.session.expired", actor, request_id)


def checkout_session_expire(*, tenant: Tenant, actor: Actor, session: CheckoutSession,
                            request_id: str = "") -> CheckoutSession:
    """Expires an open session with no payment attempt in flight (p120)."""
    from apps.payments.models import Payment

    with transaction.atomic():
        locked = _lock(session)
        if locked.status != CheckoutSession.Status.OPEN:
            raise Conflict(f"Only an open checkout session can be expired; this one is {locked.status}.",
                           code="checkout_session_not_open")
        if locked.invoice_id and Payment.objects.filter(invoice_id=locked.invoice_id,
                                                        status__in=("pending", "requires_action")).exists():
            raise Conflict("A payment for this checkout is in progress; it cannot be expired now.",
                           code="checkout_payment_in_progress")
        _expire_locked(locked, actor=actor, request_id=request_id)
    return locked


def checkout_sessions_expire_due(*, batch: int = 500) -> int:
    """Scheduled: open sessions past their expiry become expired (`checkout.session.expired`). Idempotent."""
    actor = Actor.system("checkout expiry")
    ids = list(CheckoutSession.objects.filter(status=CheckoutSession.Status.OPEN, expires_at__lte=now())
               .values_list("pk", flat=True)[:batch])
    done = 0
    for session_id in ids:
        with transaction.atomic():
            locked = _lock(CheckoutSession(pk=session_id))
            if locked.status != CheckoutSession.Status.OPEN or locked.expires_at > now():
                continue
            from apps.payments.models import Payment

            if locked.invoice_id and Payment.objects.filter(invoice_id=locked.invoice_id,
                                                            status__in=("pending", "requires_action")).exists():
                continue  # the reconciler settles the attempt first
            _expire_locked(locked, actor=actor)
            done += 1
    return done


def money(session: CheckoutSession, minor: int) -> Money:
    return Money(minor, session.currency)
