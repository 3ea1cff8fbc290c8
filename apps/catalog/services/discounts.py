"""Every write to discounts: create, update, delete (soft: page 160) and redeem.

Redemption is the one place money-relevant counting happens, so it is built for concurrency
(ARCHITECTURE.md rule 8): the discount row is locked (`select_for_update`), every eligibility rule
is re-checked inside the lock, `times_redeemed` is incremented with a conditional UPDATE
(`times_redeemed < max_redemptions`), and a CHECK constraint refuses any row state beyond the limit.
Twenty checkouts racing for the last five uses get exactly five redemptions.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.db.models.functions import Lower

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import NotFound, ValidationFailed
from apps.core.events import emit_event
from apps.core.ids import looks_like_id
from apps.core.money import Money
from apps.core.tenancy import Tenant, get_scoped, scoped
from apps.customers.models import Customer

from .. import selectors
from ..calculations import discount_amount
from ..models import (
    Discount,
    DiscountAmount,
    DiscountDuration,
    DiscountRedemption,
    DiscountScope,
    DiscountType,
    Price,
    Product,
)
from ..payloads import discount_payload, iso
from ..validation import (
    DISCOUNT_VALUE_FIELDS,
    Errors,
    clean_code,
    clean_discount_limits,
    clean_discount_value,
    merge_metadata,
)
from ._common import constraint_name, invalid

CODE_CONSTRAINT = "discount_code_unique_live"
LIMIT_FIELDS = ("name", "max_redemptions", "max_redemptions_per_customer", "first_time_customer_only", "starts_at",
                "expires_at", "scope", "minimum_amount_minor", "minimum_amount_currency", "active", "metadata")
VALUE_INPUT_FIELDS = ("percent_off", "amount_off_minor", "currency", "amounts_off", "trial_days", "duration",
                      "duration_in_periods")


class DiscountNotApplicable(ValidationFailed):
    """A code or discount that cannot be used for this purchase; `fields.code` says why."""

    code = "discount_not_applicable"


# --- hooks ---------------------------------------------------------------------------------------
_prior_purchase_checks: list[Callable] = []


def register_prior_purchase_check(check: Callable) -> Callable:
    """`check(tenant=, customer=, email=) -> bool`: True when the buyer has bought before. The
    invoices and orders apps register one so "first-time customers only" sees real purchases; until
    then an earlier discount redemption is the purchase history we have."""
    if check not in _prior_purchase_checks:
        _prior_purchase_checks.append(check)
    return check


# --- helpers -------------------------------------------------------------------------------------
def _code_taken(tenant: Tenant, code: str, *, exclude: str | None = None) -> Discount | None:
    qs = scoped(Discount, tenant=tenant).annotate(code_lower=Lower("code")).filter(code_lower=code.lower())
    if exclude:
        qs = qs.exclude(pk=exclude)
    return qs.only("pk").first()


def _save_guarding_code(save) -> None:
    try:
        with transaction.atomic():
            save()
    except IntegrityError as exc:
        if CODE_CONSTRAINT in constraint_name(exc):
            raise invalid({"code": ["is already used by another discount"]})
        raise


def _targets(tenant: Tenant, data: Mapping, errors: Errors) -> tuple[list[Product] | None, list[Price] | None]:
    """The scope's products and prices, all the tenant's (another merchant's id is reported as missing)."""
    out = []
    for name, model in (("product_ids", Product), ("price_ids", Price)):
        ids = data.get(name)
        if ids is None:
            out.append(None)
            continue
        ids = list(dict.fromkeys(ids))
        found = {obj.pk: obj for obj in scoped(model, tenant=tenant).filter(pk__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            errors[name] = [f"no such {model._meta.verbose_name}: {', '.join(missing[:5])}"]
        out.append([found[i] for i in ids if i in found])
    return out[0], out[1]


def _write_amounts(discount: Discount, pairs: list[tuple[str, int]]) -> None:
    DiscountAmount.objects.filter(discount=discount).delete()
    DiscountAmount.objects.bulk_create([DiscountAmount(discount=discount, currency=currency, amount_off_minor=amount,
                                                       position=i) for i, (currency, amount) in enumerate(pairs)])


def _reload(tenant: Tenant, discount_id: str) -> Discount:
    return get_scoped(selectors.discount_queryset(tenant, include_deleted=True), tenant=tenant, pk=discount_id,
                      label="discount")


# --- create / update / delete ---------------------------------------------------------------------
@transaction.atomic
def discount_create(*, tenant: Tenant, actor: Actor, data: Mapping, request_id: str = "") -> Discount:
    """Creates a discount (page 159). A promotion `code` must be free among this merchant's live
    discounts (case-insensitive). `product_ids`/`price_ids` without a scope mean specific_products."""
    errors: Errors = {}
    code, more = clean_code(data.get("code"))
    errors.update(more)
    discount_type = data.get("type")
    if not discount_type:
        errors["type"] = ["is required (percentage, fixed or free_trial)"]
        value = {}
    else:
        value, more = clean_discount_value(data, discount_type=discount_type)
        errors.update(more)
    limits = {name: data[name] for name in (*LIMIT_FIELDS, "product_ids", "price_ids") if name in data}
    if (limits.get("product_ids") or limits.get("price_ids")) and not limits.get("scope"):
        limits["scope"] = DiscountScope.SPECIFIC_PRODUCTS
    errors.update(clean_discount_limits(limits, now=now()))
    products, prices = _targets(tenant, limits, errors)
    metadata, more = merge_metadata({}, data.get("metadata") or {})
    errors.update(more)
    if code and "code" not in errors:
        owner = _code_taken(tenant, code)
        if owner is not None:
            errors["code"] = [f"is already used by discount {owner.pk}"]
    if errors:
        raise invalid(errors)
    at = now()
    discount = Discount(
        merchant=tenant.merchant, livemode=tenant.livemode, code=code, name=(data.get("name") or "").strip(),
        type=discount_type, percent_off=value.get("percent_off"), trial_days=value.get("trial_days"),
        duration=value["duration"], duration_in_periods=value["duration_in_periods"],
        scope=limits.get("scope") or DiscountScope.ENTIRE_ORDER, max_redemptions=data.get("max_redemptions"),
        max_redemptions_per_customer=data.get("max_redemptions_per_customer"),
        first_time_customer_only=bool(data.get("first_time_customer_only")), starts_at=data.get("starts_at"),
        expires_at=data.get("expires_at"), minimum_amount_minor=data.get("minimum_amount_minor"),
        minimum_amount_currency=data.get("minimum_amount_currency") or "", active=data.get("active", True),
        metadata=metadata, created_at=at, updated_at=at,
    )
    _save_guarding_code(lambda: discount.save(force_insert=True))
    if value.get("amounts_off"):
        _write_amounts(discount, value["amounts_off"])
    if products:
        discount.products.set(products)
    if prices:
        discount.prices.set(prices)
    discount = _reload(tenant, discount.pk)
    emit_event(tenant=tenant, type="discount.created", data=discount_payload(discount), actor=actor,
               request_id=request_id)
    return discount


def _public(discount: Discount, name: str):
    if name in ("starts_at", "expires_at"):
        return iso(getattr(discount, name))
    if name == "metadata":
        return dict(discount.metadata or {})
    if name in ("name", "minimum_amount_currency"):
        return getattr(discount, name) or None
    if name == "percent_off":
        from ..payloads import decimal_number

        return decimal_number(discount.percent_off)
    return getattr(discount, name)


@transaction.atomic
def discount_update(*, tenant: Tenant, actor: Actor, discount_id: str, data: Mapping, request_id: str = "") -> Discount:
    """PATCH (page 163). The code and the type cannot change. The value (percent, amounts, trial
    days, duration) can change only while the discount has never been redeemed; limits, dates,
    scope, name, active and metadata can always change, except that `max_redemptions` cannot go
    below `times_redeemed` and an archived discount cannot be reactivated."""
    discount = get_scoped(Discount.objects.select_for_update(), tenant=tenant, pk=discount_id, label="discount")
    current = _reload(tenant, discount.pk)
    errors: Errors = {}
    for name in ("code", "type"):
        if name in data and (data[name] or "") != (getattr(discount, name) or "") and \
                not (name == "code" and (data[name] or "").lower() == discount.code.lower()):
            errors[name] = [f"cannot be changed; create a new discount (the {name} identifies past redemptions)"]
    value_sent = [name for name in VALUE_INPUT_FIELDS if name in data]
    value: dict = {}
    if value_sent:
        if discount.times_redeemed:
            for name in value_sent:
                errors[name] = ["cannot be changed after the discount has been redeemed; create a new discount"]
        else:
            stored = {"percent_off": discount.percent_off, "trial_days": discount.trial_days,
                      "duration": discount.duration, "duration_in_periods": discount.duration_in_periods}
            if discount.type == DiscountType.FIXED and not {"amount_off_minor", "currency", "amounts_off"} & set(data):
                stored["amounts_off"] = [{"currency": a.currency, "amount_off_minor": a.amount_off_minor}
                                         for a in current.amount_list()]
            merged = {**stored, **{k: data[k] for k in value_sent}}
            if "duration" in data and data["duration"] != DiscountDuration.REPEATING and "duration_in_periods" not in data:
                merged["duration_in_periods"] = None
            value, more = clean_discount_value(merged, discount_type=discount.type)
            errors.update(more)
    limits = {name: data[name] for name in (*LIMIT_FIELDS, "product_ids", "price_ids") if name in data}
    stored_limits = {"starts_at": discount.starts_at, "expires_at": discount.expires_at, "scope": discount.scope,
                     "product_ids": [p.pk for p in current.products.all()],
                     "price_ids": [p.pk for p in current.prices.all()],
                     "minimum_amount_minor": discount.minimum_amount_minor,
                     "minimum_amount_currency": discount.minimum_amount_currency}
    if ("product_ids" in limits or "price_ids" in limits) and "scope" not in limits and \
            (limits.get("product_ids") or limits.get("price_ids")):
        limits["scope"] = DiscountScope.SPECIFIC_PRODUCTS
    if limits.get("scope") not in (None, DiscountScope.SPECIFIC_PRODUCTS):
        limits.setdefault("product_ids", [])
        limits.setdefault("price_ids", [])
    errors.update(clean_discount_limits(limits, current=stored_limits, now=now()))
    products, prices = _targets(tenant, limits, errors)
    if limits.get("max_redemptions") is not None and limits["max_redemptions"] < discount.times_redeemed:
        errors["max_redemptions"] = [f"cannot be below the {discount.times_redeemed} redemptions already made"]
    if limits.get("active") and discount.archived_at is not None:
        errors["active"] = ["an archived (deleted) discount cannot be reactivated; create a new discount"]
    if errors:
        raise invalid(errors)

    changes: dict = {}

    def set_field(name, new):
        if getattr(discount, name) != new:
            changes[name] = _public(discount, name)
            setattr(discount, name, new)

    for name in ("percent_off", "trial_days", "duration", "duration_in_periods"):
        if name in value:
            set_field(name, value[name])
    amounts_changed = False
    if "amounts_off" in value:
        before = [(a.currency, a.amount_off_minor) for a in current.amount_list()]
        if before != list(value["amounts_off"]):
            changes["amounts_off"] = [{"currency": c, "amount_off_minor": a} for c, a in before]
            amounts_changed = True
    for name in LIMIT_FIELDS:
        if name not in limits:
            continue
        new = limits[name]
        if name == "metadata":
            new, more = merge_metadata(discount.metadata, new)
            if more:
                raise invalid(more)
        elif name in ("name", "minimum_amount_currency"):
            new = (new or "").strip()
        elif name == "first_time_customer_only":
            new = bool(new)
        set_field(name, new)
    for name, rows in (("product_ids", products), ("price_ids", prices)):
        if rows is not None:
            before = sorted(stored_limits[name])
            if before != sorted(r.pk for r in rows):
                changes[name] = before
    if not changes:
        return current
    discount.updated_at = now()
    discount.save(update_fields=[n for n in changes if n not in ("amounts_off", "product_ids", "price_ids")]
                  + ["updated_at"])
    if amounts_changed:
        _write_amounts(discount, value["amounts_off"])
    if "product_ids" in changes:
        discount.products.set(products)
    if "price_ids" in changes:
        discount.prices.set(prices)
    fresh = _reload(tenant, discount.pk)
    emit_event(tenant=tenant, type="discount.updated", data=discount_payload(fresh), actor=actor,
               previous_attributes=changes, request_id=request_id)
    return fresh


@transaction.atomic
def discount_delete(*, tenant: Tenant, actor: Actor, discount_id: str, request_id: str = "") -> Discount:
    """DELETE (page 160): the code can no longer be used. A discount never redeemed is soft-deleted
    (404 afterwards, its code free for a new discount); one that was redeemed is archived instead
    (inactive for good, still listed with its redemption history). Deleting an archived discount
    again returns it unchanged."""
    discount = get_scoped(Discount.objects.select_for_update(), tenant=tenant, pk=discount_id, label="discount")
    at = now()
    if discount.times_redeemed or DiscountRedemption.objects.filter(discount=discount).exists():
        if discount.archived_at is not None:
            return _reload(tenant, discount.pk)
        previous = {"active": discount.active, "archived_at": None}
        discount.active, discount.archived_at, discount.updated_at = False, at, at
        discount.save(update_fields=["active", "archived_at", "updated_at"])
        fresh = _reload(tenant, discount.pk)
        emit_event(tenant=tenant, type="discount.archived", data=discount_payload(fresh), actor=actor,
                   previous_attributes=previous, request_id=request_id)
        return fresh
    discount.active, discount.deleted_at, discount.updated_at = False, at, at
    discount.save(update_fields=["active", "deleted_at", "updated_at"])
    fresh = _reload(tenant, discount.pk)
    emit_event(tenant=tenant, type="discount.deleted", data=discount_payload(fresh), actor=actor,
               request_id=request_id)
    return fresh


# --- redemption ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Buyer:
    customer: Customer | None
    email: str


def _buyer(tenant: Tenant, customer) -> Buyer:
    if customer is None or customer == "":
        return Buyer(None, "")
    if isinstance(customer, Customer):
        if customer.merchant_id != tenant.merchant.pk or customer.livemode != tenant.livemode:
            raise NotFound(f"No such customer: '{customer.pk}'", param="customer")
        return Buyer(customer, customer.email.lower())
    if isinstance(customer, str) and looks_like_id(customer, "cus"):
        found = get_scoped(Customer, tenant=tenant, pk=customer, label="customer")
        return Buyer(found, found.email.lower())
    if isinstance(customer, str) and "@" in customer:
        email = customer.strip().lower()
        found = scoped(Customer, tenant=tenant).filter(email=email).first()
        return Buyer(found, email)
    raise invalid({"customer": ["must be a customer, a customer id (cus_…) or an email address"]})


def _buyer_q(buyer: Buyer) -> Q:
    condition = Q()
    if buyer.customer is not None:
        condition |= Q(customer=buyer.customer)
    if buyer.email:
        condition |= Q(customer_email=buyer.email)
    return condition


def _has_bought_before(tenant: Tenant, buyer: Buyer) -> bool:
    if not (buyer.customer or buyer.email):
        return False
    for check in list(_prior_purchase_checks):
        if check(tenant=tenant, customer=buyer.customer, email=buyer.email):
            return True
    return scoped(DiscountRedemption, tenant=tenant).filter(_buyer_q(buyer)).exists()


def _refuse(reason: str, *, field: str = "code"):
    raise DiscountNotApplicable(f"This discount cannot be used: {reason}.", fields={field: [reason]})


def _check_scope(discount: Discount, product_ids: set[str], price_ids: set[str], recurring: bool | None) -> None:
    if discount.scope == DiscountScope.SUBSCRIPTION_ONLY and recurring is False:
        _refuse("it is only valid for subscriptions")
    if discount.scope == DiscountScope.ONE_TIME_ONLY and recurring is True:
        _refuse("it is only valid for one-time purchases")
    if discount.scope == DiscountScope.SPECIFIC_PRODUCTS:
        allowed_products = {p.pk for p in discount.products.all()}
        allowed_prices = {p.pk for p in discount.prices.all()}
        if not (product_ids & allowed_products or price_ids & allowed_prices):
            _refuse("it does not apply to these products")


def _applicable_amount_off(discount: Discount, *, tenant: Tenant, buyer: Buyer, amount: Money,
                           product_ids: set[str], price_ids: set[str], recurring: bool | None, at) -> Money:
    """Every rule a purchase must meet (dates, limits, buyer, scope, minimum, currency); the amount off.
    Raises DiscountNotApplicable. Shared by discount_redeem and the read-only discount_check."""
    if not discount.active or discount.archived_at is not None:
        _refuse("it is no longer active")
    if discount.starts_at and at < discount.starts_at:
        _refuse("it is not valid yet")
    if discount.expires_at and at >= discount.expires_at:
        _refuse("it has expired")
    if discount.max_redemptions is not None and discount.times_redeemed >= discount.max_redemptions:
        _refuse("it has reached its redemption limit")
    if discount.max_redemptions_per_customer is not None:
        if not (buyer.customer or buyer.email):
            _refuse("it is limited per customer, so the customer must be known", field="customer")
        used = DiscountRedemption.objects.filter(Q(discount=discount) & _buyer_q(buyer)).count()
        if used >= discount.max_redemptions_per_customer:
            _refuse("this customer has already used it the maximum number of times")
    if discount.first_time_customer_only:
        if not (buyer.customer or buyer.email):
            _refuse("it is for first-time customers, so the customer must be known", field="customer")
        if _has_bought_before(tenant, buyer):
            _refuse("it is only for first-time customers")
    _check_scope(discount, product_ids, price_ids, recurring)
    if discount.minimum_amount_minor is not None:
        if amount.currency != discount.minimum_amount_currency:
            _refuse(f"its minimum order amount is set in {discount.minimum_amount_currency}")
        if amount.amount_minor < discount.minimum_amount_minor:
            minimum = Money(discount.minimum_amount_minor, discount.minimum_amount_currency)
            _refuse(f"the order must be at least {minimum.format()}")
    spec = discount.as_spec()
    if discount.type == DiscountType.FIXED and amount.currency not in spec.amounts_off:
        _refuse(f"it has no amount in {amount.currency}")
    return discount_amount(spec, amount)


@transaction.atomic
def discount_redeem(*, tenant: Tenant, amount: Money, actor: Actor, code: str | None = None,
                    discount_id: str | None = None, customer=None, product_ids: Iterable[str] = (),
                    price_ids: Iterable[str] = (), recurring: bool | None = None, reference: str = "",
                    request_id: str = "") -> DiscountRedemption:
    """Redeems a discount for one purchase of `amount` (the subtotal it applies to) and returns the
    redemption, whose `amount_off_minor` is what to take off.

    Identify the discount by `code` (case-insensitive, what a customer typed) or `discount_id`. The
    buyer (`customer`) is a Customer, a customer id or, for a guest checkout, an email address; it
    is what the per-customer limit and "first-time customers only" look at. `product_ids`,
    `price_ids` and `recurring` describe the purchase for the discount's scope. `reference` (a
    checkout session, order or invoice id) makes the call idempotent: redeeming again for the same
    reference returns the first redemption and counts nothing.

    Raises DiscountNotApplicable (400, `details.fields.code`) when the code is unknown, inactive,
    outside its dates, used up (globally or by this buyer), out of scope, below its minimum amount,
    or has no amount in this currency.
    """
    if bool(code) == bool(discount_id):
        raise invalid({"code": ["give a code or a discount_id (exactly one)"]})
    if amount.amount_minor < 0:
        raise invalid({"amount": ["must not be negative"]})
    buyer = _buyer(tenant, customer)
    qs = scoped(Discount.objects.select_for_update(), tenant=tenant)
    if code:
        discount = qs.annotate(code_lower=Lower("code")).filter(code_lower=code.strip().lower()).first()
        if discount is None:
            _refuse("no such code")
    else:
        discount = qs.filter(pk=discount_id).first()
        if discount is None:
            raise NotFound(f"No such discount: '{discount_id}'", param="discount_id")
    reference = (reference or "").strip()[:100]
    if reference:
        existing = DiscountRedemption.objects.filter(discount=discount, reference=reference).first()
        if existing is not None:
            return existing

    at = now()
    off = _applicable_amount_off(discount, tenant=tenant, buyer=buyer, amount=amount, product_ids=set(product_ids),
                                 price_ids=set(price_ids), recurring=recurring, at=at)

    # The compare-and-set: only counts while uses remain (the lock already serialises redeemers; this
    # and the CHECK constraint hold even for code that forgets the lock).
    counted = Discount.objects.filter(pk=discount.pk)
    if discount.max_redemptions is not None:
        counted = counted.filter(times_redeemed__lt=discount.max_redemptions)
    if counted.update(times_redeemed=F("times_redeemed") + 1, updated_at=at) != 1:
        _refuse("it has reached its redemption limit")
    redemption = DiscountRedemption.objects.create(
        merchant=tenant.merchant, livemode=tenant.livemode, discount=discount, customer=buyer.customer,
        customer_email=buyer.email, code=(code or "").strip()[:64], currency=amount.currency,
        subtotal_minor=amount.amount_minor, amount_off_minor=off.amount_minor, reference=reference, redeemed_at=at)
    emit_event(tenant=tenant, type="discount.redeemed", actor=actor, request_id=request_id, object_type="discount",
               object_id=discount.pk, data={
                   "id": redemption.pk, "object": "discount_redemption", "discount_id": discount.pk,
                   "code": redemption.code or None, "customer_id": buyer.customer.pk if buyer.customer else None,
                   "customer_email": buyer.email or None, "currency": amount.currency,
                   "subtotal_minor": amount.amount_minor, "amount_off_minor": off.amount_minor,
                   "reference": reference or None, "redeemed_at": iso(at), "livemode": tenant.livemode})
    return redemption


def discount_check(*, tenant: Tenant, code: str, amount: Money, customer=None, product_ids: Iterable[str] = (),
                   price_ids: Iterable[str] = (), recurring: bool | None = None) -> tuple[Discount, Money]:
    """Would `code` apply to this purchase? The same rules as discount_redeem, but read-only: nothing is
    counted or locked (a checkout page shows the discount now; the redemption happens when the invoice is
    finalized). Returns (discount, amount off); raises DiscountNotApplicable."""
    code = (code or "").strip()
    if not code:
        _refuse("no such code")
    if amount.amount_minor < 0:
        raise invalid({"amount": ["must not be negative"]})
    buyer = _buyer(tenant, customer)
    discount = scoped(Discount.objects.all(), tenant=tenant).annotate(code_lower=Lower("code")) \
        .filter(code_lower=code.lower()).first()
    if discount is None:
        _refuse("no such code")
    off = _applicable_amount_off(discount, tenant=tenant, buyer=buyer, amount=amount, product_ids=set(product_ids),
                                 price_ids=set(price_ids), recurring=recurring, at=now())
    return discount, off


__all__ = ["DISCOUNT_VALUE_FIELDS", "DiscountNotApplicable", "discount_check", "discount_create", "discount_delete", "discount_redeem",
           "discount_update", "register_prior_purchase_check"]
