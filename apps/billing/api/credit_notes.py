"""/v2 credit notes (page 025; digest-api tables Credit Notes and Invoices 211–213, plus invoices_refund).

Views are thin: check the body strictly (unknown fields are a 400 naming them), call one service, serialize
with payloads.py. Preview and the two eligibility reads have no side effects.

A reversal the gateway refuses is not an HTTP error: create answers 201 with the note in `failed` and its
`failure_message` (and each reversal's), because the note exists and its pre-payment part stands; the
caller can retry it (POST /credit_notes/{id}/retry: 200 with the note applied or still failed) or
void it and issue a new one. A note whose refund answer was lost answers 201 in `issued` until the
reconciler resolves it. Requests the note is refused for (more than is left, a partial reversal of an
unsettled card payment, an invoice that cannot be credited) write nothing: 400 / 422.
"""
from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from apps.core.api.pagination import paginate_list
from apps.core.api.views import ApiView
from apps.core.errors import ValidationFailed
from apps.core.ids import looks_like_id
from apps.core.money import Money
from apps.core.tenancy import get_scoped

from .. import services
from ..models import CreditNote, Invoice
from ..payloads import credit_note_line_payload, credit_note_payload

CREATE_FIELDS = {"invoice_id", "invoice", "amount_minor", "amount", "credit_method", "reason", "memo",
                 "cancel_subscription", "customer_present", "auto_route", "metadata"}
PREVIEW_FIELDS = {"invoice_id", "invoice", "amount_minor", "amount", "credit_method", "reason", "memo",
                  "cancel_subscription", "customer_present", "auto_route", "metadata"}
ISSUE_FIELDS = CREATE_FIELDS - {"invoice_id", "invoice"}
REFUND_FIELDS = {"amount_minor", "amount", "reason", "memo", "cancel_subscription", "customer_present", "metadata"}


def _request_id(request) -> str:
    return getattr(request._request, "request_id", "")


def _body(request, allowed: set[str]) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationFailed("The body must be a JSON object.", fields={"__all__": ["must be a JSON object"]})
    unknown = sorted(set(request.data) - allowed)
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: unknown field", fields={name: ["unknown field"] for name in unknown})
    return request.data


def _invoice(tenant, invoice_id) -> Invoice:
    return get_scoped(Invoice.objects.select_related("customer"), tenant=tenant, pk=str(invoice_id), label="invoice")


def _note_args(body: dict, *, invoice: Invoice | None, default_method: str | None = None) -> dict:
    """The service's keyword arguments from a body, all field errors at once (nothing written yet)."""
    fields: dict[str, list[str]] = {}
    name = "amount_minor" if body.get("amount_minor") is not None else "amount"
    value = body.get(name)
    amount = None
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int):
            fields[name] = ["must be an integer number of minor units"]
        elif value <= 0:
            fields[name] = ["must be greater than zero"]
        elif invoice is not None:
            amount = Money(value, invoice.currency)
    method = body.get("credit_method", default_method)
    if method is None:
        fields["credit_method"] = [f"is required: one of {', '.join(CreditNote.CreditMethod.values)}"]
    elif method not in CreditNote.CreditMethod.values:
        fields["credit_method"] = [f"must be one of {', '.join(CreditNote.CreditMethod.values)}"]
    memo = body.get("memo") or ""
    if not isinstance(memo, str):
        fields["memo"] = ["must be a string"]
    reason = body.get("reason") or "other"
    if not isinstance(reason, str):
        fields["reason"] = ["must be a string"]
    elif reason not in CreditNote.Reason.values:
        # Page 025's example sends free text ("Service not delivered"): kept in the memo, reason "other".
        memo = f"{reason[:300]}\n{memo}".strip() if isinstance(memo, str) else memo
        reason = "other"
    flags = {}
    for flag in ("cancel_subscription", "customer_present", "auto_route"):
        flags[flag] = body.get(flag, flag == "auto_route")
        if not isinstance(flags[flag], bool):
            fields[flag] = ["must be true or false"]
    if "auto_route" in body and body.get("auto_route") is False:
        fields["auto_route"] = ["only true is supported: each payment is reversed by its own route"]
    metadata = body.get("metadata")
    if metadata is not None and (not isinstance(metadata, dict)
                                 or not all(isinstance(v, str) for v in metadata.values())):
        fields["metadata"] = ["must map strings to strings"]
    if fields:
        raise ValidationFailed(next(f"{k}: {v[0]}" for k, v in fields.items()), fields=fields)
    return {"amount": amount, "credit_method": method, "reason": reason, "memo": memo,
            "cancel_subscription": flags["cancel_subscription"], "customer_present": flags["customer_present"],
            "metadata": metadata}


def _invoice_from_body(tenant, body: dict) -> Invoice:
    invoice_id = body.get("invoice_id") or body.get("invoice")
    if not invoice_id or not isinstance(invoice_id, str):
        raise ValidationFailed("invoice_id: is required", fields={"invoice_id": ["is required"]})
    return _invoice(tenant, invoice_id)


def _created(view: ApiView, *, invoice: Invoice, args: dict, request) -> Response:
    note = services.credit_note_create(tenant=view.tenant, actor=view.actor, invoice=invoice,
                                       request_id=_request_id(request), **args)
    note = services.credit_note_get(tenant=view.tenant, credit_note_id=note.pk)
    return view.respond(credit_note_payload(note), status=201)


class CreditNoteListFilter(serializers.Serializer):
    invoice_id = serializers.CharField(required=False)
    customer_id = serializers.CharField(required=False)
    status = serializers.ChoiceField(choices=CreditNote.Status.values, required=False)


_list_params = [OpenApiParameter("limit", int), OpenApiParameter("offset", int),
                OpenApiParameter("starting_after", str), OpenApiParameter("ending_before", str)]
_one = inline_serializer(name="CreditNoteResponse", fields={"data": serializers.DictField()})
_many = inline_serializer(name="CreditNoteList", fields={"data": serializers.ListField(),
                                                         "pagination": serializers.DictField()})
_create_doc = inline_serializer(name="CreditNoteCreateInput", fields={
    "invoice_id": serializers.CharField(),
    "amount_minor": serializers.IntegerField(required=False, help_text="Alias: amount. Tax included. "
                                                                       "Default: all that is left to credit"),
    "credit_method": serializers.ChoiceField(choices=CreditNote.CreditMethod.values),
    "reason": serializers.CharField(required=False, help_text=f"One of {', '.join(CreditNote.Reason.values)}; "
                                                              "free text is kept in the memo (reason other)"),
    "memo": serializers.CharField(required=False), "cancel_subscription": serializers.BooleanField(required=False),
    "customer_present": serializers.BooleanField(required=False),
    "auto_route": serializers.BooleanField(required=False, help_text="Accepted; always true"),
    "metadata": serializers.DictField(required=False)})


class CreditNoteListCreateApi(ApiView):
    operation_ids = {"get": "credit_notes_list", "post": "credit_notes_create"}

    @extend_schema(parameters=[CreditNoteListFilter, *_list_params], responses={200: _many},
                   summary="List credit notes", description="Newest first; filters invoice_id, customer_id, status.")
    def get(self, request):
        filters = CreditNoteListFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.respond_list(services.credit_note_list(tenant=self.tenant, **filters.validated_data),
                                 credit_note_payload)

    @extend_schema(request=_create_doc, responses={201: _one}, summary="Create a credit note",
                   description="Issues a credit note on a finalized invoice. The amount first reduces what is "
                               "owed; the rest is reversed by the credit method, each payment by its own route "
                               "(newest first). 201 with the note: applied, or failed with failure_message when "
                               "the gateway refused a reversal.")
    def post(self, request):
        body = _body(request, CREATE_FIELDS)
        invoice = _invoice_from_body(self.tenant, body)
        return _created(self, invoice=invoice, args=_note_args(body, invoice=invoice), request=request)


class CreditNotePreviewApi(ApiView):
    operation_ids = {"post": "credit_notes_preview"}

    @extend_schema(request=_create_doc, responses={200: _one}, summary="Preview a credit note",
                   description="What the note would do (tax, split, reversals per payment with their route and "
                               "an explanation, the invoice's status after) with no side effects.")
    def post(self, request):
        body = _body(request, PREVIEW_FIELDS)
        invoice = _invoice_from_body(self.tenant, body)
        args = _note_args(body, invoice=invoice)
        preview = services.credit_note_preview(tenant=self.tenant, invoice=invoice, amount=args["amount"],
                                               credit_method=args["credit_method"])
        return self.respond({"invoice_id": invoice.pk, **preview.to_dict()})


class CreditNoteDetailApi(ApiView):
    operation_ids = {"get": "credit_notes_get"}

    @extend_schema(responses={200: _one}, summary="Get a credit note")
    def get(self, request, credit_note_id):
        return self.respond(credit_note_payload(services.credit_note_get(tenant=self.tenant,
                                                                         credit_note_id=credit_note_id)))


class CreditNoteLinesApi(ApiView):
    operation_ids = {"get": "credit_notes_list_lines"}

    @extend_schema(parameters=_list_params, responses={200: _many}, summary="List a credit note's lines")
    def get(self, request, credit_note_id):
        note = services.credit_note_get(tenant=self.tenant, credit_note_id=credit_note_id)
        rows, pagination = paginate_list([credit_note_line_payload(line) for line in note.lines.all()],
                                         request.query_params)
        return Response({"data": rows, "pagination": pagination})


class CreditNoteVoidApi(ApiView):
    operation_ids = {"post": "credit_notes_void"}

    @extend_schema(request=None, responses={200: _one}, summary="Void a credit note",
                   description="An accounting void: restores the invoice's amounts. Refused (422) when money left "
                               "through the gateway for it, or its invoice is voided/refunded.")
    def post(self, request, credit_note_id):
        _body(request, set())
        note = services.credit_note_get(tenant=self.tenant, credit_note_id=credit_note_id)
        services.credit_note_void(tenant=self.tenant, actor=self.actor, credit_note=note,
                                  request_id=_request_id(request))
        return self.respond(credit_note_payload(services.credit_note_get(tenant=self.tenant,
                                                                         credit_note_id=note.pk)))


class CreditNoteRetryApi(ApiView):
    operation_ids = {"post": "credit_notes_retry"}

    @extend_schema(request=None, responses={200: _one}, summary="Retry a failed credit note's refund",
                   description="Sends the failed note's failed and never-attempted reversals to the gateway again, "
                               "each routed by its payment's settlement timing today (a void refused because the "
                               "batch closed becomes a refund). 200 with the note applied, or still failed with "
                               "the new failure_message. Refused (422) unless the note is failed; 409 while "
                               "another retry of it is in flight.")
    def post(self, request, credit_note_id):
        _body(request, set())
        note = services.credit_note_get(tenant=self.tenant, credit_note_id=credit_note_id)
        services.credit_note_retry(tenant=self.tenant, actor=self.actor, credit_note=note,
                                   request_id=_request_id(request))
        return self.respond(credit_note_payload(services.credit_note_get(tenant=self.tenant,
                                                                         credit_note_id=note.pk)))


class InvoiceEligibilityApi(ApiView):
    operation_ids = {"get": "credit_notes_invoice_eligibility"}

    @extend_schema(responses={200: _one}, summary="Check credit note eligibility for an invoice",
                   description="Per payment: what can be reversed today and by which route.")
    def get(self, request, invoice_id):
        invoice = _invoice(self.tenant, invoice_id)
        return self.respond(services.credit_eligibility(tenant=self.tenant, invoice=invoice).to_dict())


class InvoiceCreditEligibilityApi(InvoiceEligibilityApi):
    operation_ids = {"get": "invoices_credit_eligibility"}


class TransactionReversalEligibilityApi(ApiView):
    operation_ids = {"get": "credit_notes_transaction_reversal_eligibility"}

    @extend_schema(responses={200: _one}, summary="Check reversal eligibility for a transaction",
                   description="Void (before settlement, full amount) or refund (after) for a payment, given by a "
                               "txn_ or pay_ id.")
    def get(self, request, transaction_id):
        from apps.payments import selectors as payment_selectors

        if looks_like_id(transaction_id, "txn"):
            target = payment_selectors.transaction_get(tenant=self.tenant, transaction_id=transaction_id)
        else:
            target = payment_selectors.payment_get(tenant=self.tenant, payment_id=transaction_id)
        return self.respond(services.transaction_reversal_eligibility(
            tenant=self.tenant, transaction_or_payment=target).to_dict())


class InvoiceCreditNotesApi(ApiView):
    operation_ids = {"get": "invoices_credit_notes_list", "post": "invoices_credit_note_issue"}

    @extend_schema(parameters=_list_params, responses={200: _many}, summary="List an invoice's credit notes")
    def get(self, request, invoice_id):
        invoice = _invoice(self.tenant, invoice_id)
        return self.respond_list(services.credit_note_list(tenant=self.tenant, invoice_id=invoice.pk),
                                 credit_note_payload)

    @extend_schema(request=_create_doc, responses={201: _one}, summary="Issue a credit note",
                   description="As POST /v2/credit_notes for this invoice.")
    def post(self, request, invoice_id):
        invoice = _invoice(self.tenant, invoice_id)
        body = _body(request, ISSUE_FIELDS)
        return _created(self, invoice=invoice, args=_note_args(body, invoice=invoice), request=request)


class InvoiceRefundApi(ApiView):
    operation_ids = {"post": "invoices_refund"}

    @extend_schema(request=inline_serializer(name="InvoiceRefundInput", fields={
        "amount_minor": serializers.IntegerField(required=False, help_text="Default: all that is left"),
        "reason": serializers.CharField(required=False), "memo": serializers.CharField(required=False)}),
        responses={201: _one}, summary="Refund an invoice",
        description="A credit note with credit_method refund_to_payment_method.")
    def post(self, request, invoice_id):
        invoice = _invoice(self.tenant, invoice_id)
        body = _body(request, REFUND_FIELDS)
        args = _note_args(body, invoice=invoice, default_method=CreditNote.CreditMethod.REFUND_TO_PAYMENT_METHOD)
        return _created(self, invoice=invoice, args=args, request=request)


urlpatterns = [
    path("credit_notes", CreditNoteListCreateApi.as_view(), name="credit_notes_list"),
    path("credit_notes/preview", CreditNotePreviewApi.as_view(), name="credit_notes_preview"),
    path("credit_notes/invoice/<str:invoice_id>/eligibility", InvoiceEligibilityApi.as_view(),
         name="credit_notes_invoice_eligibility"),
    path("credit_notes/transaction/<str:transaction_id>/reversal-eligibility",
         TransactionReversalEligibilityApi.as_view(), name="credit_notes_transaction_reversal_eligibility"),
    path("credit_notes/<str:credit_note_id>", CreditNoteDetailApi.as_view(), name="credit_notes_get"),
    path("credit_notes/<str:credit_note_id>/lines", CreditNoteLinesApi.as_view(), name="credit_notes_list_lines"),
    path("credit_notes/<str:credit_note_id>/void", CreditNoteVoidApi.as_view(), name="credit_notes_void"),
    path("credit_notes/<str:credit_note_id>/retry", CreditNoteRetryApi.as_view(), name="credit_notes_retry"),
    path("invoices/<str:invoice_id>/credit-eligibility", InvoiceCreditEligibilityApi.as_view(),
         name="invoices_credit_eligibility"),
    path("invoices/<str:invoice_id>/credit-notes", InvoiceCreditNotesApi.as_view(),
         name="invoices_credit_notes_list"),
    path("invoices/<str:invoice_id>/refund", InvoiceRefundApi.as_view(), name="invoices_refund"),
]
