"""Invoice writes (page 024): drafts and their lines, finalization with a gapless number and snapshots,
approval, sending, payments (card through the payments engine, or received outside it), void,
uncollectible, delete, overdue marking.

Rules
- Lines change only while the invoice is a draft (draft or pending_approval); every draft change bumps
  `revision`, which is what the PDF task compares to know whether to render again.
- Totals are recomputed from the lines by `_recompute` (tax per line on unrounded amounts through the
  TaxProvider, the invoice discount allocated over positive lines by largest remainder).
- Finalization (approval, when the merchant requires it) assigns the number, takes the customer and
  issuer snapshots, fixes the due date and redeems the discount, all in one transaction.
- A card payment is written as a pending attempt under the invoice's row lock (a second concurrent
  pay finds it and is refused), committed, sent to the gateway outside any transaction, then applied
  once: `invoice_apply_card_payment` is idempotent (one InvoicePayment per Payment), and is also run
  from the `payment.succeeded` event for attempts the reconciler or 3-D Secure completes later.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Max, Q

from apps.catalog.calculations import PriceCalculationError, discount_amount, price_amount_for_quantity
from apps.catalog.models import Price, PricingModel
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, Conflict, NotFound, PaymentDeclined, ValidationFailed
from apps.core.events import emit_event
from apps.core.money import Money, normalize_currency
from apps.core.statemachine import transition
from apps.core.tenancy import Tenant

from .. import calculations as calc
from ..models import Invoice, InvoiceComment, InvoiceLine, InvoicePayment, TaxRate
from ..payloads import invoice_payload
from .numbering import invoice_settings_for, next_number

DRAFT_STATUSES = ("draft", "pending_approval")
PAYABLE_STATUSES = ("approved", "sent", "partially_paid", "overdue", "uncollectible")
OUTSIDE_METHODS = ("cash", "bank_transfer", "check", "other")
MAX_LINES = 250


def _tenant_of(obj) -> Tenant:
    return Tenant(merchant=obj.merchant, livemode=obj.livemode)


def _same_tenant(obj, tenant: Tenant) -> bool:
    return obj is not None and obj.merchant_id == tenant.merchant.pk and obj.livemode == tenant.livemode


def _after_commit(task, *args) -> None:
    transaction.on_commit(lambda: task.delay(*args))


def _emit(invoice: Invoice, type: str, actor: Actor, request_id: str = "", previous: dict | None = None) -> None:
    emit_event(tenant=_tenant_of(invoice), type=type, data=invoice_payload(invoice), actor=actor,
               request_id=request_id, previous_attributes=previous)


def _lock(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update(of=("self",)).select_related("merchant", "customer").get(pk=invoice.pk)


def _require_draft(invoice: Invoice, action: str) -> None:
    if invoice.status not in DRAFT_STATUSES:
        raise BusinessRuleViolation(
            f"Cannot {action}: the invoice is {invoice.status}. Lines are locked once an invoice is finalized; "
            "void it and create a new one instead.", code="invoice_not_editable")


# --- lines -------------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class LineInput:
    """One line to add: a price (with quantity) or a description with a unit amount (an adjustment)."""

    price: Price | None = None
    description: str = ""
    unit_amount_minor: int | None = None
    quantity: int = 1
    tax_rate: TaxRate | None = None
    tax_exempt: bool = False
    source_type: str = ""
    source_id: str = ""
    period_start: datetime | None = None
    period_end: datetime | None = None
    metadata: dict | None = None


def _line_fields(tenant: Tenant, invoice_currency: str, line: LineInput, path: str = "line") -> dict:
    errors: dict[str, list[str]] = {}
    if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity < 1:
        errors[f"{path}.quantity"] = ["must be a whole number of at least 1"]
    if line.tax_rate is not None and not _same_tenant(line.tax_rate, tenant):
        raise NotFound(f"No such tax rate: '{line.tax_rate.pk}'", param=f"{path}.tax_rate_id")
    if line.tax_rate is not None and not line.tax_rate.active:
        errors[f"{path}.tax_rate_id"] = ["is archived"]
    fields = {"quantity": line.quantity, "tax_rate": line.tax_rate, "tax_exempt": bool(line.tax_exempt),
              "period_start": line.period_start, "period_end": line.period_end, "metadata": line.metadata or {}}
    if line.price is not None:
        price = line.price
        if not _same_tenant(price, tenant):
            raise NotFound(f"No such price: '{price.pk}'", param=f"{path}.price_id")
        if price.currency != invoice_currency:
            errors[f"{path}.price_id"] = [f"is in {price.currency}; the invoice is in {invoice_currency}"]
        if price.pricing_model == PricingModel.PAY_WHAT_YOU_WANT and line.unit_amount_minor is None:
            errors[f"{path}.unit_amount_minor"] = ["is required for a pay-what-you-want price"]
        if errors:
            raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)
        try:
            amount = price_amount_for_quantity(price.as_spec(), line.quantity, custom_amount_minor=line.unit_amount_minor)
        except PriceCalculationError as exc:
            raise ValidationFailed(str(exc), fields={f"{path}.price_id": [str(exc)]}) from exc
        product = price.product
        description = line.description.strip() or (
            f"{product.name} — {price.nickname}" if price.nickname else product.name)
        unit = price.unit_amount_minor if price.pricing_model == PricingModel.FIXED else amount.amount_minor // line.quantity
        fields.update(price=price, product=product, description=description[:500], amount_minor=amount.amount_minor,
                      unit_amount_minor=unit, source_type=line.source_type or InvoiceLine.SourceType.PRICE,
                      source_id=line.source_id or price.pk, billing_interval=price.interval or "",
                      billing_interval_count=price.interval_count or 1)
        return fields
    if not line.description.strip():
        errors[f"{path}.description"] = ["is required for a line without a price"]
    if line.unit_amount_minor is None or isinstance(line.unit_amount_minor, bool) or \
            not isinstance(line.unit_amount_minor, int):
        errors[f"{path}.unit_amount_minor"] = ["is required: a whole number of minor units (negative for a credit)"]
    elif abs(line.unit_amount_minor) > 10**12:
        errors[f"{path}.unit_amount_minor"] = ["is too large"]
    if line.source_type and line.source_type not in InvoiceLine.SourceType.values:
        errors[f"{path}.source_type"] = [f"must be one of {', '.join(InvoiceLine.SourceType.values)}"]
    if errors:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)
    fields.update(description=line.description.strip()[:500], unit_amount_minor=line.unit_amount_minor,
                  amount_minor=line.unit_amount_minor * line.quantity,
                  source_type=line.source_type or InvoiceLine.SourceType.ADJUSTMENT, source_id=line.source_id)
    return fields


def invoice_line_preview(*, tenant: Tenant, currency: str, line: LineInput, path: str = "line") -> dict:
    """The fields a line would be stored with (amount, description, interval snapshot), writing nothing:
    the dashboard builder previews its lines with the code that bills them. Raises ValidationFailed/NotFound."""
    return _line_fields(tenant, currency, line, path=path)


# --- tax and totals ----------------------------------------------------------------------------------
def tax_rate_spec(rate: TaxRate) -> calc.TaxRate:
    return calc.TaxRate(name=rate.name, percentage=rate.percentage, inclusive=rate.inclusive, country=rate.country,
                        region=rate.region or None)


def tax_customer_for(customer) -> calc.TaxCustomer:
    """What tax needs of the customer. Without a billing country the sale is treated as domestic."""
    address = customer.billing_address or {}
    country = (address.get("country") or "").upper() or customer.merchant.country
    tax_ids = customer.tax_ids or []
    vat = next((t for t in tax_ids if t.get("type") in ("eu_vat", "gb_vat", "vat")), None)
    # A VAT id is taken as valid when it is well-formed for its country; VIES/HMRC lookups come with the
    # tax-provider integration (Quaderno validates them).
    vat_valid = bool(vat) and str(vat.get("value", ""))[:2].upper() in (calc.vat_country(country), "EL") \
        if vat else False
    return calc.TaxCustomer(country=country, region=(address.get("state") or None), is_business=bool(vat),
                            vat_id=vat.get("value") if vat else None, vat_id_valid=vat_valid,
                            tax_exempt=bool((customer.metadata or {}).get("tax_exempt")))


def tax_merchant_for(tenant: Tenant) -> calc.TaxMerchant:
    settings = invoice_settings_for(tenant.merchant)
    rates = tuple(tax_rate_spec(r) for r in TaxRate.objects.filter(merchant=tenant.merchant, livemode=tenant.livemode,
                                                                   active=True).order_by("created_at", "id"))
    return calc.TaxMerchant(country=tenant.merchant.country, rates=rates,
                            registrations=frozenset(settings.tax_registrations or []), tax_id=settings.tax_id or None)


def tax_provider() -> calc.TaxProvider:
    """The seam: the Quaderno integration replaces the local rules here."""
    return calc.LocalTaxProvider()


@dataclass(frozen=True)
class InvoiceTotals:
    subtotal: int
    discount: int
    tax: int
    total: int
    line_discounts: list[int]
    line_taxes: list[int]
    line_rates: list[calc.TaxRate | None]
    calculation: calc.TaxCalculation


def compute_totals(*, tenant: Tenant, customer, currency: str, lines: list, discount=None) -> InvoiceTotals:
    """Totals of lines (InvoiceLine rows or anything with amount_minor, tax_rate, tax_exempt). Pure but for
    reading the merchant's rates: the dashboard builder previews with exactly this function."""
    amounts = [line.amount_minor for line in lines]
    subtotal = sum(amounts)
    positive = [max(a, 0) for a in amounts]
    off = 0
    if discount is not None and sum(positive) > 0:
        off = discount_amount(discount, Money(sum(positive), currency)).amount_minor
    line_discounts = Money(off, currency).allocate(positive).copy() if off else [Money.zero(currency)] * len(lines)
    line_discounts = [m.amount_minor for m in line_discounts]
    tax_lines = [calc.TaxLine(amount=Money(a - d, currency), rate=tax_rate_spec(line.tax_rate) if line.tax_rate else None,
                              exempt=line.tax_exempt, reference=str(i))
                 for i, (line, a, d) in enumerate(zip(lines, amounts, line_discounts, strict=True))]
    try:
        result = tax_provider().calculate(tax_lines, tax_customer_for(customer), tax_merchant_for(tenant),
                                          currency=currency)
    except calc.TaxError as exc:
        raise ValidationFailed(f"Tax cannot be calculated: {exc}", fields={"tax": [str(exc)]}) from exc
    exclusive_tax = sum(t.tax.amount_minor for t in result.lines if t.rate is not None and not t.rate.inclusive)
    return InvoiceTotals(subtotal=subtotal, discount=off, tax=result.tax.amount_minor,
                         total=subtotal - off + exclusive_tax, line_discounts=line_discounts,
                         line_taxes=[t.tax.amount_minor for t in result.lines],
                         line_rates=[t.rate for t in result.lines], calculation=result)


def _recompute(invoice: Invoice) -> None:
    """Recomputes a draft's lines and totals from its lines; bumps the revision."""
    lines = list(invoice.lines.select_related("tax_rate").order_by("position", "id"))
    totals = compute_totals(tenant=_tenant_of(invoice), customer=invoice.customer, currency=invoice.currency,
                            lines=lines, discount=invoice.discount)
    for line, disc, tax, rate in zip(lines, totals.line_discounts, totals.line_taxes, totals.line_rates, strict=True):
        snapshot = rate.to_dict() if rate else None
        if (line.discount_minor, line.tax_minor, line.tax_snapshot) != (disc, tax, snapshot):
            InvoiceLine.objects.filter(pk=line.pk).update(discount_minor=disc, tax_minor=tax, tax_snapshot=snapshot)
    summary = [{"name": t.rate.name, "percentage": str(t.rate.percentage), "inclusive": t.rate.inclusive,
                "country": t.rate.country, "region": t.rate.region, "label": t.rate.label,
                "net_minor": t.net.amount_minor, "tax_minor": t.tax.amount_minor}
               for t in totals.calculation.totals]
    invoice.subtotal_minor, invoice.discount_minor = totals.subtotal, totals.discount
    invoice.tax_minor, invoice.total_minor = totals.tax, totals.total
    invoice.amount_remaining_minor = max(totals.total, 0)
    invoice.tax_treatment = str(totals.calculation.treatment or "")
    invoice.tax_note = totals.calculation.note[:300]
    invoice.tax_summary = summary
    invoice.revision += 1
    invoice.updated_at = now()
    invoice.save(update_fields=["subtotal_minor", "discount_minor", "tax_minor", "total_minor", "amount_remaining_minor",
                                "tax_treatment", "tax_note", "tax_summary", "revision", "updated_at"])


def _write_lines(invoice: Invoice, tenant: Tenant, lines: list[LineInput], start: int) -> None:
    rows = []
    for offset, line in enumerate(lines):
        fields = _line_fields(tenant, invoice.currency, line, path=f"lines[{start + offset}]")
        rows.append(InvoiceLine(merchant=tenant.merchant, livemode=tenant.livemode, invoice=invoice,
                                position=start + offset, **fields))
    InvoiceLine.objects.bulk_create(rows)


# --- create and edit drafts --------------------------------------------------------------------------
def _clean_terms(*, due_date, days_until_due, errors: dict) -> None:
    if days_until_due is not None and (not isinstance(days_until_due, int) or not 0 <= days_until_due <= 365):
        errors["days_until_due"] = ["must be between 0 and 365 days"]
    if due_date is not None and not isinstance(due_date, date):
        errors["due_date"] = ["must be a date (YYYY-MM-DD)"]


def invoice_create(*, tenant: Tenant, actor: Actor, customer, currency: str | None = None,
                   lines: list[LineInput] = (), due_date: date | None = None, days_until_due: int | None = None,
                   memo: str | None = None, footer: str | None = None, description: str = "", discount=None,
                   metadata: dict | None = None, source: str = Invoice.Source.MANUAL,
                   collection_method: str = Invoice.CollectionMethod.SEND_INVOICE, subscription_id: str = "",
                   external_source: str = "", external_id: str = "", request_id: str = "") -> Invoice:
    """A draft invoice with its lines. `currency` defaults to the customer's, then the first price's,
    then the merchant's settlement currency."""
    if not _same_tenant(customer, tenant) or customer.deleted_at is not None:
        raise NotFound(f"No such customer: '{getattr(customer, 'pk', customer)}'", param="customer_id")
    if discount is not None and not _same_tenant(discount, tenant):
        raise NotFound(f"No such discount: '{discount.pk}'", param="discount_id")
    errors: dict[str, list[str]] = {}
    lines = list(lines)
    if len(lines) > MAX_LINES:
        errors["lines"] = [f"at most {MAX_LINES} lines"]
    currency = currency or customer.currency or next((ln.price.currency for ln in lines if ln.price), None) \
        or tenant.merchant.settlement_currency
    try:
        currency = normalize_currency(currency)
    except ValueError:
        errors["currency"] = ["must be an ISO 4217 currency code"]
    if source not in Invoice.Source.values:
        errors["source"] = [f"must be one of {', '.join(Invoice.Source.values)}"]
    if collection_method not in Invoice.CollectionMethod.values:
        errors["collection_method"] = [f"must be one of {', '.join(Invoice.CollectionMethod.values)}"]
    _clean_terms(due_date=due_date, days_until_due=days_until_due, errors=errors)
    if errors:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)
    settings = invoice_settings_for(tenant.merchant)
    with transaction.atomic():
        invoice = Invoice.objects.create(
            merchant=tenant.merchant, livemode=tenant.livemode, customer=customer, currency=currency,
            source=source, collection_method=collection_method, subscription_id=subscription_id,
            description=description[:500], memo=settings.default_memo if memo is None else memo,
            footer=settings.default_footer if footer is None else footer, due_date=due_date,
            days_until_due=days_until_due, discount=discount, metadata=metadata or {},
            external_source=external_source, external_id=external_id)
        _write_lines(invoice, tenant, lines, start=0)
        _recompute(invoice)
        _emit(invoice, "invoice.created", actor, request_id)
    _after_commit(_tasks().render_invoice_pdf, invoice.pk)
    return invoice


def invoice_update(*, tenant: Tenant, actor: Actor, invoice: Invoice, changes: dict, request_id: str = "") -> Invoice:
    """Changes an invoice's fields. A draft may change anything below; a finalized invoice only its
    metadata and memo-free fields (`metadata`), so an issued document is never rewritten."""
    draft_fields = {"memo", "footer", "description", "due_date", "days_until_due", "discount", "customer",
                    "collection_method"}
    allowed = draft_fields | {"metadata"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(f"Unknown fields: {', '.join(sorted(unknown))}",
                               fields={name: ["is not a field you can change"] for name in unknown})
    errors: dict[str, list[str]] = {}
    _clean_terms(due_date=changes.get("due_date"), days_until_due=changes.get("days_until_due"), errors=errors)
    if "customer" in changes and (not _same_tenant(changes["customer"], tenant) or changes["customer"].deleted_at):
        raise NotFound("No such customer", param="customer_id")
    if changes.get("discount") is not None and not _same_tenant(changes["discount"], tenant):
        raise NotFound("No such discount", param="discount_id")
    if errors:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)
    with transaction.atomic():
        locked = _lock(invoice)
        if set(changes) & draft_fields:
            _require_draft(locked, "change this invoice")
        previous = {}
        for name, value in changes.items():
            old = getattr(locked, name)
            if old != value:
                previous[name] = old.pk if hasattr(old, "pk") else (old.isoformat() if isinstance(old, date) else old)
                setattr(locked, name, value)
        if not previous:
            return locked
        locked.updated_at = now()
        locked.save()
        if locked.status in DRAFT_STATUSES:
            _recompute(locked)
        _emit(locked, "invoice.updated", actor, request_id, previous=previous)
    if locked.status in DRAFT_STATUSES:
        _after_commit(_tasks().render_invoice_pdf, locked.pk)
    return locked


def invoice_lines_add(*, tenant: Tenant, actor: Actor, invoice: Invoice, lines: list[LineInput],
                      request_id: str = "") -> Invoice:
    with transaction.atomic():
        locked = _lock(invoice)
        _require_draft(locked, "add lines")
        start = (locked.lines.aggregate(m=Max("position"))["m"] or -1) + 1
        if locked.lines.count() + len(lines) > MAX_LINES:
            raise ValidationFailed(f"An invoice has at most {MAX_LINES} lines.", fields={"lines": ["too many lines"]})
        _write_lines(locked, tenant, list(lines), start=start)
        _recompute(locked)
        _emit(locked, "invoice.updated", actor, request_id)
    _after_commit(_tasks().render_invoice_pdf, locked.pk)
    return locked


def invoice_line_update(*, tenant: Tenant, actor: Actor, invoice: Invoice, line_id: str, line: LineInput,
                        request_id: str = "") -> Invoice:
    with transaction.atomic():
        locked = _lock(invoice)
        _require_draft(locked, "change lines")
        row = locked.lines.filter(pk=line_id).first()
        if row is None:
            raise NotFound(f"No such line on this invoice: '{line_id}'", param="line_id")
        fields = _line_fields(tenant, locked.currency, line)
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
        _recompute(locked)
        _emit(locked, "invoice.updated", actor, request_id)
    _after_commit(_tasks().render_invoice_pdf, locked.pk)
    return locked


def invoice_line_remove(*, tenant: Tenant, actor: Actor, invoice: Invoice, line_id: str, request_id: str = "") -> Invoice:
    with transaction.atomic():
        locked = _lock(invoice)
        _require_draft(locked, "remove lines")
        deleted, _ = locked.lines.filter(pk=line_id).delete()
        if not deleted:
            raise NotFound(f"No such line on this invoice: '{line_id}'", param="line_id")
        _recompute(locked)
        _emit(locked, "invoice.updated", actor, request_id)
    _after_commit(_tasks().render_invoice_pdf, locked.pk)
    return locked


def invoice_delete(*, tenant: Tenant, actor: Actor, invoice: Invoice, request_id: str = "") -> None:
    """Deletes a draft. A finalized invoice has a number and may have been seen: void it instead."""
    with transaction.atomic():
        locked = _lock(invoice)
        if locked.status not in DRAFT_STATUSES:
            raise BusinessRuleViolation(f"Only a draft can be deleted; this invoice is {locked.status}. Void it instead.",
                                        code="invoice_not_deletable")
        data = invoice_payload(locked)
        locked.comments.all().delete()
        locked.lines.all().delete()
        locked.delete()
        emit_event(tenant=tenant, type="invoice.deleted", data={**data, "deleted": True}, actor=actor,
                   request_id=request_id)


def invoice_comment_add(*, tenant: Tenant, actor: Actor, invoice: Invoice, body: str) -> InvoiceComment:
    body = (body or "").strip()
    if not body:
        raise ValidationFailed("body: must not be empty", fields={"body": ["must not be empty"]})
    if len(body) > 5000:
        raise ValidationFailed("body: at most 5000 characters", fields={"body": ["at most 5000 characters"]})
    return InvoiceComment.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, invoice=invoice,
                                         body=body, **actor.as_fields())


# --- finalize, approve, reject, send -----------------------------------------------------------------
def _snapshot(invoice: Invoice) -> None:
    customer, merchant = invoice.customer, invoice.merchant
    settings = invoice_settings_for(merchant)
    invoice.customer_name = customer.name
    invoice.customer_email = customer.email
    invoice.customer_company = customer.company_name
    invoice.customer_phone = customer.phone
    invoice.customer_address = customer.billing_address
    invoice.customer_shipping = customer.shipping_address
    invoice.customer_tax_ids = customer.tax_ids or []
    invoice.issuer = {"name": merchant.display_name or merchant.name, "legal_name": merchant.name,
                      "address": merchant.address, "country": merchant.country, "email": merchant.support_email,
                      "phone": merchant.support_phone, "website": merchant.website, "tax_id": settings.tax_id,
                      "brand_color": merchant.brand_color, "payment_instructions": settings.payment_instructions}


def _issue(invoice: Invoice, *, tenant: Tenant, actor: Actor, request_id: str) -> None:
    """draft|pending_approval → approved: number, snapshots, due date, discount redeemed. Caller holds the lock."""
    if not invoice.lines.exists():
        raise BusinessRuleViolation("An invoice needs at least one line before it can be finalized.",
                                    code="invoice_empty")
    _recompute(invoice)
    if invoice.total_minor < 0:
        raise BusinessRuleViolation("The invoice total is negative; issue a credit note instead.",
                                    code="invoice_total_negative")
    if invoice.discount_id:
        from apps.catalog.services import discount_redeem

        discount_redeem(tenant=tenant, amount=Money(invoice.subtotal_minor, invoice.currency), actor=actor,
                        discount_id=invoice.discount_id, customer=invoice.customer, reference=invoice.pk,
                        product_ids=[pid for pid in invoice.lines.values_list("product_id", flat=True) if pid],
                        request_id=request_id)
    settings = invoice_settings_for(invoice.merchant)
    _snapshot(invoice)
    issued = now()
    terms = invoice.days_until_due if invoice.days_until_due is not None else settings.days_until_due
    updates = {"number": next_number(tenant=tenant, kind="invoice"), "finalized_at": issued,
               "approved_at": issued, "due_date": invoice.due_date or (issued.date() + timedelta(days=terms)),
               "days_until_due": terms, "approved_by": actor.label if invoice.status == "pending_approval" else ""}
    for name in ("customer_name", "customer_email", "customer_company", "customer_phone", "customer_address",
                 "customer_shipping", "customer_tax_ids", "issuer"):
        updates[name] = getattr(invoice, name)
    transition(invoice, "approved", actor=actor, reason="finalized", extra_updates=updates)
    _emit(invoice, "invoice.finalized", actor, request_id)
    if invoice.total_minor == 0:
        transition(invoice, "paid", actor=actor, reason="nothing to pay", extra_updates={"paid_at": issued})
        _emit(invoice, "invoice.paid", actor, request_id)
        from .orders import order_create_for_paid_invoice  # a free purchase still ships (issue 5, orders)

        order_create_for_paid_invoice(invoice=invoice, actor=actor, request_id=request_id)


def invoice_finalize(*, tenant: Tenant, actor: Actor, invoice: Invoice, send: bool = False,
                     request_id: str = "") -> Invoice:
    """Finalizes a draft: with approval required it is submitted (pending_approval, still editable),
    otherwise it is issued at once (approved). `send` also emails it."""
    with transaction.atomic():
        locked = _lock(invoice)
        if locked.status == "pending_approval":
            raise BusinessRuleViolation("This invoice is waiting for approval; approve or reject it.",
                                        code="invoice_pending_approval")
        if locked.status != "draft":
            raise BusinessRuleViolation(f"Only a draft can be finalized; this invoice is {locked.status}.",
                                        code="invoice_not_draft")
        if invoice_settings_for(locked.merchant).require_approval and locked.source == Invoice.Source.MANUAL:
            if not locked.lines.exists():
                raise BusinessRuleViolation("An invoice needs at least one line before it can be submitted.",
                                            code="invoice_empty")
            transition(locked, "pending_approval", actor=actor, reason="submitted for approval",
                       extra_updates={"rejection_note": ""})
            _emit(locked, "invoice.submitted_for_approval", actor, request_id)
        else:
            _issue(locked, tenant=tenant, actor=actor, request_id=request_id)
    _after_commit(_tasks().render_invoice_pdf, locked.pk)
    if send and locked.status == "approved":
        return invoice_send(tenant=tenant, actor=actor, invoice=locked, request_id=request_id)
    return locked


def invoice_approve(*, tenant: Tenant, actor: Actor, invoice: Invoice, request_id: str = "") -> Invoice:
    with transaction.atomic():
        locked = _lock(invoice)
        if locked.status != "pending_approval":
            raise BusinessRuleViolation(f"Only an invoice pending approval can be approved; this one is {locked.status}.",
                                        code="invoice_not_pending_approval")
        _issue(locked, tenant=tenant, actor=actor, request_id=request_id)
    _after_commit(_tasks().render_invoice_pdf, locked.pk)
    return locked


def invoice_reject(*, tenant: Tenant, actor: Actor, invoice: Invoice, note: str = "", request_id: str = "") -> Invoice:
    """pending_approval → draft, with the approver's note for the author."""
    with transaction.atomic():
        locked = _lock(invoice)
        transition(locked, "draft", actor=actor, reason=f"rejected: {note}"[:500],
                   extra_updates={"rejection_note": note[:2000]})
        _emit(locked, "invoice.rejected", actor, request_id)
    return locked


def _clean_recipients(to, cc) -> tuple[list[str], list[str]]:
    from django.core.exceptions import ValidationError as DjangoValidationError
    from django.core.validators import validate_email

    errors: dict[str, list[str]] = {}
    cleaned = {}
    for name, values in (("to", to), ("cc", cc)):
        out = []
        for value in values or []:
            value = str(value).strip().lower()
            try:
                validate_email(value)
            except DjangoValidationError:
                errors.setdefault(name, []).append(f"'{value}' is not a valid email address")
            out.append(value)
        cleaned[name] = out
    if errors:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors)
    return cleaned["to"], cleaned["cc"]


def invoice_send(*, tenant: Tenant, actor: Actor, invoice: Invoice, to: list[str] | None = None,
                 cc: list[str] | None = None, request_id: str = "") -> Invoice:
    """Emails the invoice with its hosted link (and PDF). A draft is finalized first (unless it needs
    approval); an already sent invoice is sent again."""
    to, cc = _clean_recipients(to, cc)
    if invoice.status == "draft":
        if invoice_settings_for(invoice.merchant).require_approval and invoice.source == Invoice.Source.MANUAL:
            raise BusinessRuleViolation("This invoice must be approved before it is sent.",
                                        code="invoice_requires_approval")
        invoice = invoice_finalize(tenant=tenant, actor=actor, invoice=invoice, request_id=request_id)
    with transaction.atomic():
        locked = _lock(invoice)
        if locked.status not in ("approved", "sent", "partially_paid", "overdue"):
            raise BusinessRuleViolation(f"An invoice that is {locked.status} cannot be sent.",
                                        code="invoice_not_sendable")
        recipients = to or [locked.customer_email or locked.customer.email]
        if not recipients[0]:
            raise ValidationFailed("The customer has no email address; give `to`.", fields={"to": ["is required"]})
        if locked.status == "approved":
            transition(locked, "sent", actor=actor, reason="sent", extra_updates={"sent_at": now()})
        else:
            Invoice.objects.filter(pk=locked.pk).update(sent_at=now(), updated_at=now())
        _emit(locked, "invoice.sent", actor, request_id)
    transaction.on_commit(lambda: _tasks().send_invoice_email.delay(locked.pk, "invoice", recipients, cc))
    return locked


def _card_payment_in_flight(invoice: Invoice) -> bool:
    """A card attempt for the invoice that has not finished: at the gateway, waiting for 3-D Secure, or
    succeeded but not yet applied to the invoice (the payment's outcome and its application are two
    transactions; a second attempt in between would charge twice)."""
    from apps.payments.models import Payment

    return Payment.objects.filter(invoice_id=invoice.pk).filter(
        Q(status__in=("pending", "requires_action"))
        | Q(status="succeeded", invoice_application__isnull=True)).exists()


# --- void, uncollectible, overdue --------------------------------------------------------------------
def invoice_void(*, tenant: Tenant, actor: Actor, invoice: Invoice, reason: str = "", request_id: str = "") -> Invoice:
    """Cancels an unpaid finalized invoice. Paid money is given back through a credit note instead."""
    with transaction.atomic():
        locked = _lock(invoice)
        if locked.status in DRAFT_STATUSES:
            raise BusinessRuleViolation("A draft is deleted, not voided.", code="invoice_not_finalized")
        if locked.amount_paid_minor > 0:
            raise BusinessRuleViolation(
                "A paid or partly paid invoice cannot be voided; issue a credit note to reverse the payment.",
                code="invoice_has_payments")
        if locked.status not in ("approved", "sent", "overdue", "uncollectible"):
            raise BusinessRuleViolation(f"An invoice that is {locked.status} cannot be voided.",
                                        code="invoice_not_voidable")
        if _card_payment_in_flight(locked):  # it may still succeed: never leave money on a voided invoice
            raise Conflict("A card payment for this invoice is in progress; wait for its outcome.",
                           code="invoice_payment_in_progress")
        previous = {"status": locked.status}
        transition(locked, "voided", actor=actor, reason=reason or "voided",
                   extra_updates={"voided_at": now(), "void_reason": reason[:500], "amount_remaining_minor": 0})
        _emit(locked, "invoice.voided", actor, request_id, previous=previous)
    return locked


def invoice_mark_uncollectible(*, tenant: Tenant, actor: Actor, invoice: Invoice, request_id: str = "") -> Invoice:
    with transaction.atomic():
        locked = _lock(invoice)
        previous = {"status": locked.status}
        transition(locked, "uncollectible", actor=actor, reason="written off",
                   extra_updates={"marked_uncollectible_at": now()})
        # One spelling per event (DECISIONS.md): page 083's `invoice.uncollectible`; the guides'
        # `invoice.marked_uncollectible` is the same event under another name.
        _emit(locked, "invoice.uncollectible", actor, request_id, previous=previous)
    return locked


def invoices_mark_overdue(*, as_of: date | None = None, batch: int = 500) -> int:
    """Scheduled: open invoices past their due date become overdue (`invoice.overdue`). Idempotent."""
    today = as_of or now().date()
    ids = list(Invoice.objects.filter(status__in=("approved", "sent", "partially_paid"), due_date__lt=today,
                                      amount_remaining_minor__gt=0).values_list("pk", flat=True)[:batch])
    moved = 0
    actor = Actor.system("overdue job")
    for invoice_id in ids:
        with transaction.atomic():
            locked = Invoice.objects.select_for_update().select_related("merchant", "customer").get(pk=invoice_id)
            if locked.status not in ("approved", "sent", "partially_paid") or locked.due_date >= today:
                continue
            previous = {"status": locked.status}
            transition(locked, "overdue", actor=actor, reason=f"unpaid after {locked.due_date.isoformat()}")
            _emit(locked, "invoice.overdue", actor, previous=previous)
            moved += 1
        transaction.on_commit(lambda pk=invoice_id: _tasks().send_invoice_email.delay(pk, "overdue", [], []))
    return moved


# --- payments ----------------------------------------------------------------------------------------
def _apply_payment(locked: Invoice, *, amount: int, actor: Actor, request_id: str, **payment_fields) -> InvoicePayment:
    """Applies money to a locked invoice and moves it to partially_paid or paid."""
    tenant = _tenant_of(locked)
    application = InvoicePayment.objects.create(merchant=tenant.merchant, livemode=tenant.livemode, invoice=locked,
                                                amount_minor=amount, currency=locked.currency, **actor.as_fields(),
                                                **payment_fields)
    previous = {"status": locked.status, "amount_paid_minor": locked.amount_paid_minor,
                "amount_remaining_minor": locked.amount_remaining_minor}
    paid = locked.amount_paid_minor + amount
    remaining = max(locked.amount_remaining_minor - amount, 0)
    updates = {"amount_paid_minor": paid, "amount_remaining_minor": remaining}
    if remaining == 0:
        transition(locked, "paid", actor=actor, reason="paid", extra_updates={**updates, "paid_at": now()})
        _emit(locked, "invoice.paid", actor, request_id, previous=previous)
        transaction.on_commit(lambda: _tasks().send_invoice_email.delay(locked.pk, "receipt", [], [], application.pk))
        from .orders import order_create_for_paid_invoice

        order_create_for_paid_invoice(invoice=locked, actor=actor, request_id=request_id)
    else:
        if locked.status == "partially_paid":
            Invoice.objects.filter(pk=locked.pk).update(**updates, updated_at=now())
            for name, value in updates.items():
                setattr(locked, name, value)
        else:
            transition(locked, "partially_paid", actor=actor, reason="part payment", extra_updates=updates)
        _emit(locked, "invoice.updated", actor, request_id, previous=previous)
        # A part payment gets its receipt too (what was paid and what remains).
        transaction.on_commit(lambda: _tasks().send_invoice_email.delay(locked.pk, "receipt", [], [], application.pk))
    return application


def invoice_record_payment(*, tenant: Tenant, actor: Actor, invoice: Invoice, amount: Money | None = None,
                           method: str = "bank_transfer", reference: str = "", note: str = "",
                           received_at: datetime | None = None, request_id: str = "") -> InvoicePayment:
    """Money received outside RevKeen (cash, bank transfer, cheque): all that is owed by default, or part."""
    if method not in OUTSIDE_METHODS:
        raise ValidationFailed.not_one_of("payment_method", OUTSIDE_METHODS)
    with transaction.atomic():
        locked = _lock(invoice)
        if locked.status not in PAYABLE_STATUSES:
            raise BusinessRuleViolation(f"An invoice that is {locked.status} cannot take a payment.",
                                        code="invoice_not_payable")
        if _card_payment_in_flight(locked):
            raise Conflict("A card payment for this invoice is in progress; wait for its outcome.",
                           code="invoice_payment_in_progress")
        amount = amount or Money(locked.amount_remaining_minor, locked.currency)
        if amount.currency != locked.currency:
            raise ValidationFailed(f"amount: must be in {locked.currency}", fields={"amount": [f"must be in {locked.currency}"]})
        if not 0 < amount.amount_minor <= locked.amount_remaining_minor:
            message = f"must be between 1 and the amount still owed ({locked.amount_remaining_minor})"
            raise ValidationFailed(f"amount_minor: {message}", fields={"amount_minor": [message]})
        return _apply_payment(locked, amount=amount.amount_minor, actor=actor, request_id=request_id,
                              method=method, reference=reference[:200], note=note[:500],
                              received_at=received_at or now())


@dataclass(frozen=True)
class PayResult:
    invoice: Invoice
    payment: object  # payments.Payment


def invoice_pay(*, tenant: Tenant, actor: Actor, invoice: Invoice, payment_method=None, payment_token: str = "",
                amount: Money | None = None, request_id: str = "") -> PayResult:
    """Charges what is owed (or `amount` of it: a part payment) to a card: the given saved method, a
    one-time gateway token (the hosted page), or the customer's default method. Raises PaymentDeclined (402) on a decline, after recording
    `invoice.payment_failed`; a 3-D Secure challenge returns the payment in requires_action."""
    from apps.payments import services as payments
    from apps.payments.models import Payment, PaymentMethod

    with transaction.atomic():
        locked = _lock(invoice)
        if locked.status not in PAYABLE_STATUSES:
            raise BusinessRuleViolation(f"An invoice that is {locked.status} cannot be paid.", code="invoice_not_payable")
        if locked.amount_remaining_minor <= 0:
            raise BusinessRuleViolation("Nothing is owed on this invoice.", code="invoice_not_payable")
        charge = amount or locked.amount_remaining
        if charge.currency != locked.currency or not 0 < charge.amount_minor <= locked.amount_remaining_minor:
            message = f"must be between 1 and the amount still owed ({locked.amount_remaining_minor} {locked.currency})"
            raise ValidationFailed(f"amount_minor: {message}", fields={"amount_minor": [message]})
        if _card_payment_in_flight(locked):
            raise Conflict("A payment for this invoice is already in progress.", code="invoice_payment_in_progress")
        if payment_method is None and not payment_token:
            payment_method = PaymentMethod.objects.filter(customer=locked.customer, is_default=True,
                                                          status=PaymentMethod.Status.ACTIVE).first()
            if payment_method is None:
                raise BusinessRuleViolation("The customer has no default payment method; give payment_method_id.",
                                            code="no_payment_method", param="payment_method_id")
        payment = payments.payment_begin(
            tenant=tenant, actor=actor, amount=charge, customer=locked.customer,
            payment_method=payment_method, payment_token=payment_token or None,
            description=f"Invoice {locked.number}", metadata={"invoice_number": locked.number},
            invoice_id=locked.pk, request_id=request_id)
    payment = payments.payment_send(payment=payment, payment_token=payment_token or None, actor=actor,
                                    request_id=request_id)
    if payment.status == Payment.Status.SUCCEEDED:
        invoice_apply_card_payment(payment=payment, actor=actor, request_id=request_id)
    elif payment.status == Payment.Status.FAILED:  # invoice.payment_failed follows from payment.failed
        raise PaymentDeclined(payment.failure_message or "The card was declined.", decline_code=payment.decline_code,
                              payment_id=payment.pk)
    elif payment.status == Payment.Status.REQUIRES_ACTION:
        with transaction.atomic():
            _emit(_lock(invoice), "invoice.payment_action_required", actor, request_id)
    return PayResult(invoice=Invoice.objects.get(pk=invoice.pk), payment=payment)


def invoice_note_payment_failure(*, payment, actor: Actor, request_id: str = "") -> None:
    """`invoice.payment_failed` (the dunning entry) for a failed card attempt on an invoice, whichever way it
    failed: declined at once, refused after 3-D Secure, or found declined by the reconciler. Run once per
    failed payment, from its `payment.failed` event."""
    if not payment.invoice_id or payment.status != "failed":
        return
    with transaction.atomic():
        locked = Invoice.objects.select_for_update(of=("self",)).select_related("merchant").filter(
            pk=payment.invoice_id).first()
        if locked is None:
            return
        emit_event(tenant=_tenant_of(locked), type="invoice.payment_failed",
                   data={**invoice_payload(locked), "last_payment_error": {
                       "payment_id": payment.pk, "decline_code": payment.decline_code or None,
                       "message": payment.failure_message}}, actor=actor, request_id=request_id)


def invoice_apply_card_payment(*, payment, actor: Actor, request_id: str = "") -> InvoicePayment | None:
    """Applies a succeeded card payment to its invoice once (the OneToOne on InvoicePayment.payment)."""
    if not payment.invoice_id or payment.status not in ("succeeded", "partially_refunded", "refunded"):
        return None
    with transaction.atomic():
        locked = Invoice.objects.select_for_update(of=("self",)).select_related("merchant", "customer") \
            .filter(pk=payment.invoice_id).first()
        if locked is None:
            return None
        existing = InvoicePayment.objects.filter(payment=payment).first()
        if existing is not None:
            return existing
        amount = payment.amount_captured_minor or payment.amount_minor
        if locked.status not in PAYABLE_STATUSES or amount > locked.amount_remaining_minor:
            # Paid twice (outside and by card at once): keep the money on record for a credit note.
            raise BusinessRuleViolation(
                f"Payment {payment.pk} exceeds what invoice {locked.number} still owes; refund the difference.",
                code="invoice_overpaid")
        return _apply_payment(locked, amount=amount, actor=actor, request_id=request_id, payment=payment,
                              method=InvoicePayment.Method.CARD, reference=payment.gateway_transaction_id,
                              received_at=payment.captured_at or now())


def _tasks():
    from .. import tasks

    return tasks
