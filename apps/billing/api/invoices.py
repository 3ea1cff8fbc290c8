"""/v2/invoices (API 208–225 but the credit-note ones, plus approve and mark-uncollectible) and
GET /v2/customers/{id}/invoices.

Bodies are JSON objects; unknown fields are a 400. The guides' camelCase spellings are accepted
(customerId, dueDate, lineItems, amountMinor, paymentMethod, …). A line is one of
  {price_id, quantity}                       a price of yours (`amount_minor` for pay-what-you-want)
  {product_id, quantity}                     the product's active one-time price in the invoice currency
  {description, amount_minor, quantity}      an adjustment; `amount_minor` is the unit amount (alias
                                             unit_amount_minor), negative for a credit
each optionally with tax_rate_id, tax_exempt, period_start, period_end, metadata.

PATCH /v2/invoices/{id} (invoices_update) changes a draft's fields (memo, footer, description, due_date,
days_until_due, discount_id, customer_id, collection_method, metadata) and its lines in the same call:
  add_lines:       [line, …]                 appended in order
  update_lines:    [{id: "il_…", …line fields}, …]   the fields given replace the line's
  remove_line_ids: ["il_…", …]
all in one transaction (one bad line and nothing changes). A finalized invoice takes `metadata` only:
anything else is a 422 invoice_not_editable.

POST /v2/invoices/{id}/pay: `{}` charges the customer's default card; `{payment_method_id}` (or
`payment_method: "pm_…"`) a saved card; `{payment_token}` a one-time gateway token; `{payment_method:
"cash"|"bank_transfer"|"check"|"other", amount_minor?, reference?, note?}` records money received
outside RevKeen. `amount_minor` pays part. A decline is 402 card_error/payment_declined with
decline_code. The answer is the invoice (with paid_at) plus `payment`.
"""
from __future__ import annotations

from django.db import transaction
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from apps.catalog import selectors as catalog_selectors
from apps.catalog.models import Price, PriceType
from apps.core.api.views import ApiView
from apps.core.errors import BusinessRuleViolation, DomainError, NotFound, ValidationFailed
from apps.core.ids import looks_like_id
from apps.core.money import Money
from apps.core.tenancy import Tenant, get_scoped
from apps.payments.payloads import payment_payload

from .. import selectors, services
from ..models import Invoice, InvoiceComment, TaxRate
from ..payloads import invoice_payload, invoice_payment_payload
from ..services.invoice_external import BATCH_MAX_ROWS
from ..services.invoices import OUTSIDE_METHODS
from .inputs import (
    MAX_LINE_TOTAL,
    MAX_QUANTITY,
    Errors,
    aliased,
    body_of,
    currency_field,
    customer_of,
    date_field,
    datetime_field,
    id_field,
    int_field,
    metadata_field,
    param,
    query_date,
    query_datetime,
    query_int,
    raise_errors,
    request_id,
    str_field,
)

LINE_FIELDS = {"price_id", "product_id", "description", "amount_minor", "quantity", "tax_rate_id", "tax_exempt",
               "period_start", "period_end", "metadata"}
LINE_ALIASES = {"priceId": "price_id", "price": "price_id", "productId": "product_id", "product": "product_id",
                "unit_amount_minor": "amount_minor", "unitAmountMinor": "amount_minor", "amountMinor": "amount_minor",
                "taxRateId": "tax_rate_id", "taxExempt": "tax_exempt", "periodStart": "period_start",
                "periodEnd": "period_end"}
INVOICE_FIELDS = {"customer_id", "currency", "due_date", "days_until_due", "memo", "footer", "description",
                  "discount_id", "collection_method", "metadata", "lines"}
INVOICE_ALIASES = {"customerId": "customer_id", "customer": "customer_id", "dueDate": "due_date",
                   "daysUntilDue": "days_until_due", "discountId": "discount_id", "discount": "discount_id",
                   "collectionMethod": "collection_method", "lineItems": "lines", "line_items": "lines"}
UPDATE_FIELDS = (INVOICE_FIELDS - {"lines", "currency"}) | {"add_lines", "update_lines", "remove_line_ids"}
UPDATE_ALIASES = {**{k: v for k, v in INVOICE_ALIASES.items() if v != "lines"}, "addLines": "add_lines",
                  "updateLines": "update_lines", "removeLineIds": "remove_line_ids"}
PAY_FIELDS = {"payment_method", "payment_method_id", "payment_token", "amount_minor", "reference", "note"}
PAY_ALIASES = {"paymentMethod": "payment_method", "paymentMethodId": "payment_method_id",
               "paymentToken": "payment_token", "payment_method_token": "payment_token", "amountMinor": "amount_minor",
               "amount": "amount_minor"}

_one = inline_serializer(name="InvoiceResponse", fields={"data": serializers.DictField()})
_many = inline_serializer(name="InvoiceList", fields={"data": serializers.ListField(),
                                                      "pagination": serializers.DictField()})
_list_params = [OpenApiParameter(name, str) for name in (
    "status", "customer_id", "subscription_id", "created[gte]", "created[lte]", "due_date[gte]", "due_date[lte]",
    "amount_min", "amount_max", "search", "limit", "offset", "starting_after", "ending_before")]


def _tax_rate(tenant: Tenant, tax_rate_id: str, param: str) -> TaxRate:
    if not looks_like_id(tax_rate_id, "txr"):
        raise NotFound(f"No such tax rate: '{tax_rate_id[:60]}'", param=param)
    try:
        return get_scoped(TaxRate, tenant=tenant, pk=tax_rate_id, label="tax rate")
    except NotFound as exc:
        exc.param = param
        raise


def _product_price(tenant: Tenant, product_id: str, currency: str | None, key: str, errors: Errors) -> Price | None:
    """A product line is sold at the product's active one-time price in the invoice currency (the oldest)."""
    product = catalog_selectors.product_get(tenant=tenant, product_id=product_id)
    prices = Price.objects.filter(product=product, active=True, type=PriceType.ONE_TIME).order_by("created_at", "id")
    if currency:
        prices = prices.filter(currency=currency)
    price = prices.select_related("product").first()
    if price is None:
        errors[key] = [f"has no active one-time price{' in ' + currency if currency else ''}; give price_id"]
    return price


def parse_line(tenant: Tenant, raw, path: str, currency: str | None, errors: Errors, *,
               base: services.LineInput | None = None) -> services.LineInput | None:
    """One line of a request body (see the module docstring); `base` is the line being changed."""
    try:
        data = aliased(raw, LINE_FIELDS | ({"id"} if base is not None else set()), LINE_ALIASES, path=path)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        return None
    before = len(errors)
    fields: dict = {}
    if base is not None:
        fields = {name: getattr(base, name) for name in ("price", "description", "unit_amount_minor", "quantity",
                                                         "tax_rate", "tax_exempt", "period_start", "period_end",
                                                         "metadata")}
    price_id = id_field(data, "price_id", errors, path=path)
    product_id = id_field(data, "product_id", errors, path=path)
    if price_id and product_id:
        errors[f"{path}.price_id"] = ["give price_id or product_id, not both"]
    elif price_id:
        try:
            fields["price"] = catalog_selectors.price_get(tenant=tenant, price_id=price_id)
        except NotFound as exc:
            exc.param = f"{path}.price_id"
            raise
        fields["unit_amount_minor"] = None
    elif product_id:
        try:
            fields["price"] = _product_price(tenant, product_id, currency, f"{path}.product_id", errors)
        except NotFound as exc:
            exc.param = f"{path}.product_id"
            raise
        fields["unit_amount_minor"] = None
    if "description" in data:
        fields["description"] = str_field(data, "description", errors, path=path) or ""
    if "amount_minor" in data:
        fields["unit_amount_minor"] = int_field(data, "amount_minor", errors, path=path, minimum=-10**12,
                                                maximum=10**12)
        if base is not None and not price_id and not product_id and data.get("amount_minor") is not None \
                and (fields.get("price") is None or fields["price"].pricing_model != "pay_what_you_want"):
            fields["price"] = None  # an adjustment's new amount; a price line turned adjustment loses its price
    if "quantity" in data:
        fields["quantity"] = int_field(data, "quantity", errors, path=path, minimum=1, maximum=MAX_QUANTITY) or 1
    tax_rate_id = id_field(data, "tax_rate_id", errors, path=path)
    if tax_rate_id:
        fields["tax_rate"] = _tax_rate(tenant, tax_rate_id, f"{path}.tax_rate_id")
    elif "tax_rate_id" in data:
        fields["tax_rate"] = None
    if "tax_exempt" in data:
        if not isinstance(data["tax_exempt"], bool):
            errors[f"{path}.tax_exempt"] = ["must be true or false"]
        else:
            fields["tax_exempt"] = data["tax_exempt"]
    for name in ("period_start", "period_end"):
        if name in data:
            fields[name] = datetime_field(data, name, errors, path=path)
    if "metadata" in data:
        fields["metadata"] = metadata_field(data, errors, path=path) or {}
    if len(errors) > before:
        return None
    price, quantity = fields.get("price"), fields.get("quantity") or 1
    unit = fields.get("unit_amount_minor") if price is None or price.pricing_model == "pay_what_you_want" \
        else (price.unit_amount_minor or 0)
    if unit is not None and abs(unit * quantity) > MAX_LINE_TOTAL:
        errors[f"{path}.quantity"] = [f"the line comes to more than {MAX_LINE_TOTAL} minor units"]
        return None
    if base is not None and fields.get("price") == base.price:  # same source: a subscription or order line stays one
        fields.update(source_type=base.source_type, source_id=base.source_id)
    return services.LineInput(**fields)


def parse_lines(tenant: Tenant, raw, name: str, currency: str | None, errors: Errors) -> list | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        errors[name] = ["must be a list of line objects"]
        return None
    if len(raw) > services.invoices.MAX_LINES:
        errors[name] = [f"at most {services.invoices.MAX_LINES} lines"]
        return None
    lines = [parse_line(tenant, item, f"{name}[{i}]", currency, errors) for i, item in enumerate(raw)]
    return None if any(line is None for line in lines) else lines


def parse_invoice_body(tenant: Tenant, data: dict, *, customer_required: bool) -> tuple[dict, list | None]:
    """(fields for invoice_create/upsert, lines or None) from an aliased body; 400 listing every problem."""
    errors: Errors = {}
    fields: dict = {}
    customer_id = id_field(data, "customer_id", errors)
    if customer_id:
        fields["customer"] = customer_of(tenant, customer_id)
    elif customer_required and "customer_id" not in errors:
        errors["customer_id"] = ["is required"]
    currency = currency_field(data, errors)
    if currency:
        fields["currency"] = currency
    if "due_date" in data:
        fields["due_date"] = date_field(data, "due_date", errors)
    if "days_until_due" in data:
        fields["days_until_due"] = int_field(data, "days_until_due", errors, minimum=0, maximum=365)
    for name, limit in (("memo", 5000), ("footer", 5000), ("description", 500)):
        if name in data:
            value = str_field(data, name, errors, limit=limit)
            fields[name] = value if value is not None or name != "description" else ""
    discount_id = id_field(data, "discount_id", errors)
    if discount_id:
        fields["discount"] = catalog_selectors.discount_get(tenant=tenant, discount_id=discount_id)
    elif "discount_id" in data:
        fields["discount"] = None
    if "collection_method" in data:
        value = data["collection_method"]
        if value not in Invoice.CollectionMethod.values:
            errors["collection_method"] = [f"must be one of {', '.join(Invoice.CollectionMethod.values)}"]
        else:
            fields["collection_method"] = value
    if "metadata" in data:
        fields["metadata"] = metadata_field(data, errors) or {}
    line_currency = currency or (fields["customer"].currency if fields.get("customer") else None) \
        or tenant.merchant.settlement_currency
    lines = parse_lines(tenant, data.get("lines"), "lines", line_currency, errors)
    raise_errors(errors)
    return fields, lines


def invoice_answer(view: ApiView, invoice: Invoice, *, status: int = 200, **extra):
    fresh = selectors.invoice_get(tenant=view.tenant, invoice_id=invoice.pk)
    return view.respond({**invoice_payload(fresh), **extra}, status=status)


def comment_payload(comment: InvoiceComment) -> dict:
    return {"id": comment.pk, "object": "invoice_comment", "invoice_id": comment.invoice_id, "body": comment.body,
            "is_internal": True, "author": {"type": comment.actor_type, "id": comment.actor_id or None,
                                            "label": comment.actor_label or None},
            "created_at": comment.created_at.isoformat()}


# --- list filters -------------------------------------------------------------------------------------
def invoice_filters(params) -> dict:
    """The query parameters of invoices_list (snake_case, camelCase and the bracket forms)."""
    return {
        "status": param(params, "status"),
        "subscription_id": param(params, "subscription_id", "subscription", "subscriptionId"),
        "created_from": query_datetime(params, "created[gte]", "created_after", "createdAfter", "created_from"),
        "created_to": query_datetime(params, "created[lte]", "created_before", "createdBefore", "created_to"),
        "due_from": query_date(params, "due_date[gte]", "due_after", "dueAfter", "due_from"),
        "due_to": query_date(params, "due_date[lte]", "due_before", "dueBefore", "due_to"),
        "amount_min": query_int(params, "amount_min", "amountMin", "total_minor[gte]"),
        "amount_max": query_int(params, "amount_max", "amountMax", "total_minor[lte]"),
        "search": param(params, "search", "q"),
    }


def _invoice(view: ApiView, invoice_id: str) -> Invoice:
    return selectors.invoice_get(tenant=view.tenant, invoice_id=invoice_id)


# --- views --------------------------------------------------------------------------------------------
class InvoiceListCreateApi(ApiView):
    operation_ids = {"get": "invoices_list", "post": "invoices_create"}

    @extend_schema(parameters=_list_params, responses={200: _many}, summary="List invoices",
                   description="Newest first. status: any invoice status, `past_due` (= overdue) or `open` "
                               "(approved, sent, partially_paid, overdue); several comma-separated.")
    def get(self, request):
        params = request.query_params
        qs = selectors.invoice_list(tenant=self.tenant, customer_id=param(params, "customer_id", "customer",
                                                                             "customerId"), **invoice_filters(params))
        return self.respond_list(qs, invoice_payload)

    @extend_schema(request=inline_serializer(name="InvoiceCreateInput", fields={
        "customer_id": serializers.CharField(help_text="Alias: customerId, customer"),
        "currency": serializers.CharField(required=False),
        "due_date": serializers.DateField(required=False), "days_until_due": serializers.IntegerField(required=False),
        "memo": serializers.CharField(required=False), "footer": serializers.CharField(required=False),
        "description": serializers.CharField(required=False), "discount_id": serializers.CharField(required=False),
        "collection_method": serializers.ChoiceField(choices=Invoice.CollectionMethod.values, required=False),
        "metadata": serializers.DictField(required=False),
        "lines": serializers.ListField(child=serializers.DictField(), required=False,
                                       help_text="Alias: line_items, lineItems")}),
        responses={201: _one}, summary="Create invoice", description="A draft invoice with its lines.")
    def post(self, request):
        data = body_of(request, INVOICE_FIELDS, INVOICE_ALIASES)
        fields, lines = parse_invoice_body(self.tenant, data, customer_required=True)
        invoice = services.invoice_create(tenant=self.tenant, actor=self.actor, lines=lines or [],
                                          request_id=request_id(request), **fields)
        return invoice_answer(self, invoice, status=201)


class InvoiceDetailApi(ApiView):
    operation_ids = {"get": "invoices_get", "patch": "invoices_update", "delete": "invoices_delete"}

    @extend_schema(responses={200: _one}, summary="Get invoice")
    def get(self, request, invoice_id):
        return self.respond(invoice_payload(_invoice(self, invoice_id)))

    @extend_schema(request=inline_serializer(name="InvoiceUpdateInput", fields={
        "memo": serializers.CharField(required=False), "footer": serializers.CharField(required=False),
        "description": serializers.CharField(required=False), "due_date": serializers.DateField(required=False),
        "days_until_due": serializers.IntegerField(required=False),
        "discount_id": serializers.CharField(required=False, allow_null=True),
        "customer_id": serializers.CharField(required=False),
        "collection_method": serializers.CharField(required=False), "metadata": serializers.DictField(required=False),
        "add_lines": serializers.ListField(child=serializers.DictField(), required=False),
        "update_lines": serializers.ListField(child=serializers.DictField(), required=False),
        "remove_line_ids": serializers.ListField(child=serializers.CharField(), required=False)}),
        responses={200: _one}, summary="Update invoice",
        description="A draft's fields and lines (add_lines, update_lines, remove_line_ids) in one transaction; "
                    "a finalized invoice's metadata only (anything else: 422 invoice_not_editable).")
    def patch(self, request, invoice_id):
        invoice = _invoice(self, invoice_id)
        data = body_of(request, UPDATE_FIELDS, UPDATE_ALIASES)
        line_ops = {name: data.pop(name) for name in ("add_lines", "update_lines", "remove_line_ids") if name in data}
        changes, _ = parse_invoice_body(self.tenant, data, customer_required=False)
        errors: Errors = {}
        add = parse_lines(self.tenant, line_ops.get("add_lines"), "add_lines", invoice.currency, errors)
        updates = self._line_updates(invoice, line_ops.get("update_lines"), errors)
        removals = line_ops.get("remove_line_ids")
        if removals is not None and (not isinstance(removals, list) or not all(isinstance(x, str) for x in removals)):
            errors["remove_line_ids"] = ["must be a list of line ids"]
        raise_errors(errors)
        if line_ops and invoice.status not in services.invoices.DRAFT_STATUSES:
            raise BusinessRuleViolation(
                f"Cannot change lines: the invoice is {invoice.status}. Lines are locked once an invoice is "
                "finalized; void it and create a new one instead.", code="invoice_not_editable",
                param=next(iter(line_ops)))
        rid = request_id(request)
        with transaction.atomic():  # every change or none
            if changes:
                invoice = services.invoice_update(tenant=self.tenant, actor=self.actor, invoice=invoice,
                                                  changes=changes, request_id=rid)
            for line_id in dict.fromkeys(removals or []):
                invoice = services.invoice_line_remove(tenant=self.tenant, actor=self.actor, invoice=invoice,
                                                       line_id=line_id, request_id=rid)
            for line_id, line in updates:
                invoice = services.invoice_line_update(tenant=self.tenant, actor=self.actor, invoice=invoice,
                                                       line_id=line_id, line=line, request_id=rid)
            if add:
                invoice = services.invoice_lines_add(tenant=self.tenant, actor=self.actor, invoice=invoice,
                                                     lines=add, request_id=rid)
        return invoice_answer(self, invoice)

    def _line_updates(self, invoice: Invoice, raw, errors: Errors) -> list[tuple[str, services.LineInput]]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            errors["update_lines"] = ["must be a list of {id, …line fields} objects"]
            return []
        current = {line.pk: line for line in invoice.lines.all()}
        out = []
        for i, item in enumerate(raw):
            path = f"update_lines[{i}]"
            line_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(line_id, str) or not line_id:
                errors[f"{path}.id"] = ["is required"]
                continue
            row = current.get(line_id)
            if row is None:
                raise NotFound(f"No such line on this invoice: '{line_id[:60]}'", param=f"{path}.id")
            pwyw = row.price is not None and row.price.pricing_model == "pay_what_you_want"
            base = services.LineInput(
                price=row.price, description=row.description, quantity=row.quantity, tax_rate=row.tax_rate,
                unit_amount_minor=None if row.price is not None and not pwyw else row.unit_amount_minor,
                tax_exempt=row.tax_exempt, period_start=row.period_start, period_end=row.period_end,
                metadata=row.metadata, source_type=row.source_type, source_id=row.source_id)
            line = parse_line(self.tenant, item, path, invoice.currency, errors, base=base)
            if line is not None:
                out.append((line_id, line))
        return out

    @extend_schema(responses={200: _one}, summary="Delete invoice",
                   description="Drafts only; a finalized invoice is voided instead (422 invoice_not_deletable).")
    def delete(self, request, invoice_id):
        invoice = _invoice(self, invoice_id)
        services.invoice_delete(tenant=self.tenant, actor=self.actor, invoice=invoice, request_id=request_id(request))
        return self.respond({"id": invoice_id, "object": "invoice", "deleted": True})


class _InvoiceActionApi(ApiView):
    """POST /v2/invoices/{id}/<action>: parse the body, call one service, answer the invoice."""

    fields: set[str] = set()
    aliases: dict[str, str] = {}

    def post(self, request, invoice_id):
        invoice = _invoice(self, invoice_id)
        data = body_of(request, self.fields, self.aliases)
        return invoice_answer(self, self.act(invoice, data, request_id(request)))

    def act(self, invoice: Invoice, data: dict, rid: str) -> Invoice:
        raise NotImplementedError


class InvoiceFinalizeApi(_InvoiceActionApi):
    operation_ids = {"post": "invoices_finalize"}
    fields = {"send", "auto_send"}
    aliases = {"autoSend": "auto_send"}

    @extend_schema(request=inline_serializer(name="InvoiceFinalizeInput", fields={
        "send": serializers.BooleanField(required=False, help_text="Also email it (alias auto_send)")}),
        responses={200: _one}, summary="Finalize an invoice",
        description="Assigns the number (gapless) and the public link; financial fields become immutable. With "
                    "approval required the draft is submitted (pending_approval) instead.")
    def post(self, request, invoice_id):
        return super().post(request, invoice_id)

    def act(self, invoice, data, rid):
        send = data.get("send", data.get("auto_send", False))
        if not isinstance(send, bool):
            raise ValidationFailed("send: must be true or false", fields={"send": ["must be true or false"]})
        return services.invoice_finalize(tenant=self.tenant, actor=self.actor, invoice=invoice, send=send,
                                         request_id=rid)


class InvoiceSendApi(_InvoiceActionApi):
    operation_ids = {"post": "invoices_send"}
    fields = {"to", "cc", "channel"}

    @extend_schema(request=inline_serializer(name="InvoiceSendInput", fields={
        "to": serializers.ListField(child=serializers.EmailField(), required=False),
        "cc": serializers.ListField(child=serializers.EmailField(), required=False),
        "channel": serializers.ChoiceField(choices=["email"], required=False)}),
        responses={200: _one}, summary="Send an invoice",
        description="Emails the invoice (to the customer unless `to` is given). A draft is finalized first.")
    def post(self, request, invoice_id):
        return super().post(request, invoice_id)

    def act(self, invoice, data, rid):
        errors: Errors = {}
        recipients = {}
        for name in ("to", "cc"):
            value = data.get(name)
            if isinstance(value, str):
                value = [value]
            if value is not None and (not isinstance(value, list) or not all(isinstance(v, str) for v in value)):
                errors[name] = ["must be a list of email addresses"]
            recipients[name] = value or []
        if data.get("channel") not in (None, "email"):
            errors["channel"] = ["only email is available"]
        raise_errors(errors)
        return services.invoice_send(tenant=self.tenant, actor=self.actor, invoice=invoice, to=recipients["to"],
                                     cc=recipients["cc"], request_id=rid)


class InvoiceVoidApi(_InvoiceActionApi):
    operation_ids = {"post": "invoices_void"}
    fields = {"reason"}

    @extend_schema(request=inline_serializer(name="InvoiceVoidInput", fields={
        "reason": serializers.CharField(required=False)}), responses={200: _one}, summary="Void an invoice",
        description="Only finalized invoices without payments; a paid one is credited instead (credit notes).")
    def post(self, request, invoice_id):
        return super().post(request, invoice_id)

    def act(self, invoice, data, rid):
        errors: Errors = {}
        reason = str_field(data, "reason", errors) or ""
        raise_errors(errors)
        return services.invoice_void(tenant=self.tenant, actor=self.actor, invoice=invoice, reason=reason,
                                     request_id=rid)


class InvoiceRejectApi(_InvoiceActionApi):
    operation_ids = {"post": "invoices_reject"}
    fields = {"note"}
    aliases = {"reason": "note", "rejection_note": "note"}

    @extend_schema(request=inline_serializer(name="InvoiceRejectInput", fields={
        "note": serializers.CharField(required=False)}), responses={200: _one}, summary="Reject invoice",
        description="Approval workflow: pending_approval → draft with the approver's note.")
    def post(self, request, invoice_id):
        return super().post(request, invoice_id)

    def act(self, invoice, data, rid):
        errors: Errors = {}
        note = str_field(data, "note", errors, limit=2000) or ""
        raise_errors(errors)
        return services.invoice_reject(tenant=self.tenant, actor=self.actor, invoice=invoice, note=note,
                                       request_id=rid)


class InvoiceApproveApi(_InvoiceActionApi):
    operation_ids = {"post": "invoices_approve"}

    @extend_schema(request=None, responses={200: _one}, summary="Approve invoice",
                   description="Approval workflow: pending_approval → approved (number assigned).")
    def post(self, request, invoice_id):
        return super().post(request, invoice_id)

    def act(self, invoice, data, rid):
        return services.invoice_approve(tenant=self.tenant, actor=self.actor, invoice=invoice, request_id=rid)


class InvoiceMarkUncollectibleApi(_InvoiceActionApi):
    operation_ids = {"post": "invoices_mark_uncollectible"}

    @extend_schema(request=None, responses={200: _one}, summary="Mark invoice uncollectible",
                   description="Writes off an open invoice; it can still be paid later or credited.")
    def post(self, request, invoice_id):
        return super().post(request, invoice_id)

    def act(self, invoice, data, rid):
        return services.invoice_mark_uncollectible(tenant=self.tenant, actor=self.actor, invoice=invoice,
                                                   request_id=rid)


class InvoicePayApi(ApiView):
    operation_ids = {"post": "invoices_pay"}

    @extend_schema(request=inline_serializer(name="InvoicePayInput", fields={
        "payment_method": serializers.CharField(required=False,
                                                help_text="cash | bank_transfer | check | other, or a pm_ id"),
        "payment_method_id": serializers.CharField(required=False),
        "payment_token": serializers.CharField(required=False),
        "amount_minor": serializers.IntegerField(required=False), "reference": serializers.CharField(required=False),
        "note": serializers.CharField(required=False)}),
        responses={200: _one}, summary="Record a payment",
        description="Charges a card (the default, a saved one or a token) or records money received outside "
                    "RevKeen. A decline is 402 payment_declined with decline_code.")
    def post(self, request, invoice_id):
        invoice = _invoice(self, invoice_id)
        data = body_of(request, PAY_FIELDS, PAY_ALIASES)
        errors: Errors = {}
        method = id_field(data, "payment_method", errors)
        method_id = id_field(data, "payment_method_id", errors)
        token = id_field(data, "payment_token", errors)
        amount_minor = int_field(data, "amount_minor", errors, minimum=1, maximum=10**12)
        reference = str_field(data, "reference", errors, limit=200)
        note = str_field(data, "note", errors, limit=500)
        outside = method in OUTSIDE_METHODS
        if method and not outside:
            if looks_like_id(method, "pm"):
                method_id = method_id or method
            elif method != "card":
                errors["payment_method"] = [f"must be one of {', '.join(OUTSIDE_METHODS)}, card or a saved "
                                            "payment method id (pm_…)"]
        if outside and (method_id or token):
            errors["payment_method"] = ["an outside payment takes no card"]
        if method_id and token:
            errors["payment_token"] = ["give payment_method_id or payment_token, not both"]
        if not outside and (reference or note):
            errors["reference" if reference else "note"] = ["only with an outside payment method"]
        raise_errors(errors)
        amount = Money(amount_minor, invoice.currency) if amount_minor is not None else None
        rid = request_id(request)
        if outside:
            application = services.invoice_record_payment(
                tenant=self.tenant, actor=self.actor, invoice=invoice, amount=amount, method=method,
                reference=reference or "", note=note or "", request_id=rid)
            return invoice_answer(self, invoice, payment=invoice_payment_payload(application))
        card = None
        if method_id:
            from apps.payments import selectors as payment_selectors

            card = payment_selectors.payment_method_get(tenant=self.tenant, payment_method_id=method_id)
            if card.customer_id != invoice.customer_id:
                raise NotFound(f"No such payment method for this customer: '{method_id}'", param="payment_method_id")
        result = services.invoice_pay(tenant=self.tenant, actor=self.actor, invoice=invoice, payment_method=card,
                                      payment_token=token or "", amount=amount, request_id=rid)
        return invoice_answer(self, result.invoice, payment=payment_payload(result.payment))


class InvoiceCommentsApi(ApiView):
    operation_ids = {"get": "invoices_comments_list", "post": "invoices_comments_add"}

    @extend_schema(parameters=[OpenApiParameter("include_internal", bool)], responses={200: _many},
                   summary="List invoice comments",
                   description="Newest first. Comments are your team's notes: customers never see them.")
    def get(self, request, invoice_id):
        invoice = _invoice(self, invoice_id)
        return self.respond_list(selectors.invoice_comment_list(tenant=self.tenant, invoice=invoice), comment_payload)

    @extend_schema(request=inline_serializer(name="InvoiceCommentInput", fields={
        "body": serializers.CharField(help_text="Alias: comment, text"),
        "is_internal": serializers.BooleanField(required=False, help_text="Always true")}),
        responses={201: _one}, summary="Add invoice comment")
    def post(self, request, invoice_id):
        invoice = _invoice(self, invoice_id)
        data = body_of(request, {"body", "is_internal"}, {"comment": "body", "text": "body", "content": "body",
                                                          "isInternal": "is_internal"})
        if data.get("is_internal", True) is not True:
            raise ValidationFailed("is_internal: comments are internal notes; customers never see them",
                                   fields={"is_internal": ["must be true: comments are never shown to customers"]})
        if not isinstance(data.get("body"), str):
            raise ValidationFailed("body: is required", fields={"body": ["is required (a string)"]})
        comment = services.invoice_comment_add(tenant=self.tenant, actor=self.actor, invoice=invoice, body=data["body"])
        return self.respond(comment_payload(comment), status=201)


# --- external ids ---------------------------------------------------------------------------------------
def _source_and_id(source, external_id) -> tuple[str, str]:
    from apps.customers.validation import clean_external_id, clean_source

    source, errors = clean_source(source)
    external_id, more = clean_external_id(external_id)
    raise_errors({**errors, **more})
    return source, external_id


def _upsert_fields(tenant: Tenant, source: str, data: dict) -> tuple[dict, list | None]:
    """Invoice fields of an upsert body; `customer_external_id` finds the customer by its id in `source`."""
    from apps.customers.validation import clean_external_updated_at

    customer_external_id = data.pop("customer_external_id", None)
    source_updated_at, errors = clean_external_updated_at(data.pop("external_updated_at", None))
    raise_errors(errors)
    fields, lines = parse_invoice_body(tenant, data, customer_required=False)
    if source_updated_at is not None:
        fields["external_updated_at"] = source_updated_at
    if customer_external_id is not None and "customer" not in fields:
        from apps.customers.selectors import customer_get_by_external_id

        try:
            fields["customer"] = customer_get_by_external_id(tenant=tenant, source=source,
                                                             external_id=str(customer_external_id))
        except NotFound as exc:
            exc.param = "customer_external_id"
            raise
    return fields, lines


UPSERT_FIELDS = INVOICE_FIELDS | {"customer_external_id", "external_updated_at"}
UPSERT_ALIASES = {**INVOICE_ALIASES, "customerExternalId": "customer_external_id",
                  "externalUpdatedAt": "external_updated_at"}


class InvoiceExternalUpsertApi(ApiView):
    operation_ids = {"put": "invoices_external_upsert_by_external_id"}

    @extend_schema(request=inline_serializer(name="InvoiceUpsertInput", fields={
        "customer_id": serializers.CharField(required=False),
        "customer_external_id": serializers.CharField(required=False, help_text="The customer's id in `source`"),
        "external_updated_at": serializers.DateTimeField(
            required=False, help_text="The source's last change (ISO-8601 or Unix seconds): an older upsert is "
                                      "answered `stale` and changes nothing"),
        "lines": serializers.ListField(child=serializers.DictField(), required=False,
                                       help_text="The complete list of lines")}),
        responses={200: _one, 201: _one}, summary="Upsert invoice by external ID",
        description="Creates (201) or updates (200) the draft known as `externalId` in `source`. A finalized "
                    "invoice takes metadata only: any other change is a 409 invoice_finalized.")
    def put(self, request, source, external_id):
        source, external_id = _source_and_id(source, external_id)
        data = body_of(request, UPSERT_FIELDS, UPSERT_ALIASES)
        fields, lines = _upsert_fields(self.tenant, source, data)
        invoice, status = services.invoice_upsert_by_external_id(
            tenant=self.tenant, actor=self.actor, source=source, external_id=external_id, fields=fields,
            lines=lines, request_id=request_id(request))
        return invoice_answer(self, invoice, status=201 if status == "created" else 200)


class InvoiceExternalBatchApi(ApiView):
    operation_ids = {"put": "invoices_external_batch"}

    @extend_schema(request=inline_serializer(name="InvoiceBatchInput", fields={
        "source": serializers.CharField(),
        "invoices": serializers.ListField(child=serializers.DictField(),
                                          help_text="Each: external_id plus the upsert fields")}),
        responses={200: inline_serializer(name="InvoiceBatchResponse", fields={"data": serializers.DictField()})},
        summary="Batch upsert invoices by external ID",
        description="Up to 100 rows in one transaction: if any row fails nothing is applied and the 400 lists "
                    "`details.fields` (`invoices[3].lines[0].price_id`) and `details.results`.")
    def put(self, request):
        data = body_of(request, {"source", "invoices"})
        from apps.customers.validation import clean_source

        source, errors = clean_source(data.get("source"))
        rows = data.get("invoices")
        if not isinstance(rows, list) or not rows:
            errors["invoices"] = ["must be a non-empty list of invoice objects"]
        elif len(rows) > BATCH_MAX_ROWS:  # before parsing any row
            errors["invoices"] = [f"must have at most {BATCH_MAX_ROWS} rows (got {len(rows)})"]
        raise_errors(errors)
        items = [self._item(i, raw, source) for i, raw in enumerate(rows)]
        outcome = services.invoice_batch_upsert(tenant=self.tenant, actor=self.actor, source=source, items=items,
                                                request_id=request_id(request))
        return self.respond({"object": "invoice_batch", "results": outcome.results, "summary": outcome.summary})

    def _item(self, index: int, raw, source: str) -> services.BatchItem:
        external_id = raw.get("external_id", raw.get("externalId")) if isinstance(raw, dict) else None
        try:
            data = aliased(raw, UPSERT_FIELDS | {"external_id"}, {**UPSERT_ALIASES, "externalId": "external_id"})
            from apps.customers.validation import clean_external_id

            external_id, errors = clean_external_id(data.pop("external_id", None))
            raise_errors(errors)
            fields, lines = _upsert_fields(self.tenant, source, data)
        except DomainError as exc:
            return services.BatchItem(external_id=str(external_id or ""), error=exc)
        return services.BatchItem(external_id=external_id, fields=fields, lines=lines)


class CustomerInvoicesApi(ApiView):
    operation_ids = {"get": "customers_invoices_list"}

    @extend_schema(parameters=_list_params, responses={200: _many}, summary="List customer invoices")
    def get(self, request, customer_id):
        customer = customer_of(self.tenant, customer_id)
        qs = selectors.invoice_list(tenant=self.tenant, customer_id=customer.pk, **invoice_filters(request.query_params))
        return self.respond_list(qs, invoice_payload)


urlpatterns = [
    path("invoices", InvoiceListCreateApi.as_view(), name="invoices_list"),
    path("invoices/external/batch", InvoiceExternalBatchApi.as_view(), name="invoices_external_batch"),
    path("invoices/external/<str:source>/<str:external_id>", InvoiceExternalUpsertApi.as_view(),
         name="invoices_external_upsert_by_external_id"),
    path("invoices/<str:invoice_id>", InvoiceDetailApi.as_view(), name="invoices_get"),
    path("invoices/<str:invoice_id>/finalize", InvoiceFinalizeApi.as_view(), name="invoices_finalize"),
    path("invoices/<str:invoice_id>/send", InvoiceSendApi.as_view(), name="invoices_send"),
    path("invoices/<str:invoice_id>/void", InvoiceVoidApi.as_view(), name="invoices_void"),
    path("invoices/<str:invoice_id>/pay", InvoicePayApi.as_view(), name="invoices_pay"),
    path("invoices/<str:invoice_id>/reject", InvoiceRejectApi.as_view(), name="invoices_reject"),
    path("invoices/<str:invoice_id>/approve", InvoiceApproveApi.as_view(), name="invoices_approve"),
    path("invoices/<str:invoice_id>/mark-uncollectible", InvoiceMarkUncollectibleApi.as_view(),
         name="invoices_mark_uncollectible"),
    path("invoices/<str:invoice_id>/comments", InvoiceCommentsApi.as_view(), name="invoices_comments_list"),
    path("customers/<str:customer_id>/invoices", CustomerInvoicesApi.as_view(), name="customers_invoices_list"),
]
