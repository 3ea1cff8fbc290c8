"""Dashboard views of customers: the list (search, filters, sort, pagination, CSV export), create,
edit, soft delete, and the detail page with the customer's entitlements and timeline.

Views are thin: they read a form, call the customers services and selectors (and the catalog's for
entitlements, the same ones the API uses) and render. A service's error becomes a form error or a
message; a customer of another merchant, of the other mode, or deleted, is a 404.
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.accounts.forms import country_choices
from apps.accounts.permissions import Permission
from apps.catalog import selectors as catalog_selectors
from apps.catalog import services as catalog_services
from apps.catalog.models import EntitlementSource
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import DomainError, NotFound
from apps.core.models import Event

from . import selectors, services
from .forms import TAX_ID_TYPES, CustomerFilterForm, CustomerForm
from .models import Customer
from .payloads import iso

PAGE_SIZE = 25
TIMELINE_PAGE_SIZE = 20
EXPORT_CHUNK = 2000  # rows per database fetch (and per prefetch of external ids) while exporting
EXPORT_FLUSH = 500   # rows per chunk of the streamed response
TIMELINE_CHANGED = "customer-timeline-changed"  # htmx event: the timeline card reloads itself


def _actor(request) -> Actor:
    return Actor.for_user(request.user)


def _customer_or_404(request, customer_id: str) -> Customer:
    try:
        return selectors.customer_get(tenant=request.tenant, customer_id=customer_id)
    except NotFound:
        raise Http404("No such customer")


@lru_cache(maxsize=1)
def _country_names() -> dict[str, str]:
    return dict(country_choices())


def _country(customer: Customer) -> str:
    address = customer.billing_address or customer.shipping_address or {}
    return address.get("country") or ""


def _list_row(customer: Customer) -> dict:
    country = _country(customer)
    return {"customer": customer, "country": country, "country_name": _country_names().get(country, country)}


# --- list ----------------------------------------------------------------------------------------
def _filter_form(request, *, with_choices: bool) -> CustomerFilterForm:
    choices = {}
    if with_choices:  # the htmx partial does not re-render the filters, so it skips these two queries
        choices = {"sources": selectors.customer_external_sources(tenant=request.tenant),
                   "currencies": selectors.customer_currencies(tenant=request.tenant)}
    return CustomerFilterForm(request.GET, **choices)


def _filtered_customers(request, form: CustomerFilterForm):
    if not form.is_valid():
        return Customer.objects.none()
    try:
        return selectors.customer_list(tenant=request.tenant,
                                       **form.selector_filters(timezone.get_current_timezone()))
    except DomainError as exc:
        form.add_error(None, exc.message)
        return Customer.objects.none()


@dashboard_view(Permission.VIEW_DASHBOARD)
def customer_list(request):
    partial = bool(request.htmx and request.htmx.target == "customer-results")
    form = _filter_form(request, with_choices=not partial)
    page = Paginator(_filtered_customers(request, form), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "rows": [_list_row(c) for c in page],
        "page_range": list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)),
        "filtered": form.is_filtered,
    }
    if partial:
        return render(request, "customers/list.html#results", context)
    return render(request, "customers/list.html", context)


# --- CSV export ----------------------------------------------------------------------------------
EXPORT_COLUMNS = ["id", "name", "email", "phone", "country", "currency", "external_ids", "created_at"]
# A cell starting with one of these is a formula to Excel / LibreOffice / Sheets (CSV injection):
# such cells get a leading apostrophe, which spreadsheets show as text. Phone numbers in +44 form
# get one too; that is the accepted price (OWASP "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


class _Echo:
    """A file-like object whose write() returns the line, so csv.writer can feed a stream."""

    def write(self, value: str) -> str:
        return value


def _export_row(customer: Customer) -> list[str]:
    external = "; ".join(f"{x.source}:{x.external_id}" for x in customer.active_external_ids)
    return [csv_safe(value) for value in (customer.pk, customer.name, customer.email, customer.phone,
                                          _country(customer), customer.currency, external, iso(customer.created_at))]


def _csv_chunks(customers) -> Iterator[str]:
    writer = csv.writer(_Echo())
    # A UTF-8 byte order mark first, so Excel shows "Müller" and "Séverine" correctly.
    lines = ["\ufeff" + writer.writerow(EXPORT_COLUMNS)]
    # iterator(chunk_size=…) keeps memory flat and prefetches external ids once per chunk.
    for customer in customers.iterator(chunk_size=EXPORT_CHUNK):
        lines.append(writer.writerow(_export_row(customer)))
        if len(lines) >= EXPORT_FLUSH:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)


def _streamable(request, chunks: Iterator[str]):
    """Under ASGI (uvicorn, daphne) Django would read a plain iterator to the end before sending a
    byte; an async generator that pulls each chunk in the request's thread really streams."""
    if not isinstance(request, ASGIRequest):
        return chunks

    async def stream():
        pull = sync_to_async(next, thread_sensitive=True)
        while (chunk := await pull(chunks, None)) is not None:
            yield chunk

    return stream()


@dashboard_view(Permission.VIEW_DASHBOARD)
def customer_export(request):
    """The list as CSV, with the same search and filters as the page it was clicked on."""
    form = _filter_form(request, with_choices=False)
    customers = _filtered_customers(request, form)
    if form.errors:
        messages.error(request, "Fix the filters before exporting.")
        return redirect(reverse("dashboard:customers") + "?" + request.GET.urlencode())
    filename = f"customers-{request.tenant.mode}-{now():%Y%m%d-%H%M}.csv"
    response = StreamingHttpResponse(_streamable(request, _csv_chunks(customers)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- create / edit / delete ------------------------------------------------------------------------
@dashboard_view(Permission.MANAGE_CUSTOMERS)
def customer_create(request):
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(tenant=request.tenant, actor=_actor(request),
                                                data=form.service_data(), request_id=request.request_id)
        except DomainError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Customer {customer} created.")
            return redirect("dashboard:customers_detail", customer_id=customer.pk)
    return render(request, "customers/form.html", {"form": form, "customer": None, "tax_id_types": TAX_ID_TYPES})


@dashboard_view(Permission.MANAGE_CUSTOMERS)
def customer_edit(request, customer_id):
    customer = _customer_or_404(request, customer_id)
    form = CustomerForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.customer_update(tenant=request.tenant, actor=_actor(request), customer_id=customer.pk,
                                             data=form.service_data(), request_id=request.request_id)
        except DomainError as exc:
            form.add_service_error(exc)
        else:
            changed = saved.updated_at != customer.updated_at
            messages.success(request, "Customer saved." if changed else "No changes to save.")
            return redirect("dashboard:customers_detail", customer_id=customer.pk)
    return render(request, "customers/form.html", {"form": form, "customer": customer, "tax_id_types": TAX_ID_TYPES})


@dashboard_view(Permission.MANAGE_CUSTOMERS)
@require_POST
def customer_delete(request, customer_id):
    customer = _customer_or_404(request, customer_id)
    try:
        services.customer_delete(tenant=request.tenant, actor=_actor(request), customer_id=customer.pk,
                                 request_id=request.request_id)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:customers_detail", customer_id=customer.pk)
    messages.success(request, f"Customer {customer} deleted. Their history is kept; the email is free for a "
                              "new customer.")
    return redirect("dashboard:customers")


# --- detail --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DetailCard:
    """A card on the customer page contributed by another app (payments, invoices, subscriptions,
    wallet, health score: later issues). `context(request, customer)` returns what the template
    needs; keep it a fixed number of queries."""

    template: str
    context: Callable[[HttpRequest, Customer], dict] | None = None


DETAIL_CARDS: list[DetailCard] = []


def register_detail_card(template: str, context: Callable[[HttpRequest, Customer], dict] | None = None) -> None:
    """Adds a card to the customer detail page, below Entitlements and above the Timeline. Call it
    from the contributing app's AppConfig.ready(), so this app never imports it."""
    card = DetailCard(template, context)
    if card not in DETAIL_CARDS:
        DETAIL_CARDS.append(card)


def _page_number(value, default: int = 1) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default


def _entitlement_ids(request, customer: Customer):
    return catalog_selectors.entitlement_list(tenant=request.tenant, customer=customer).order_by().values("pk")


def _timeline(request, customer: Customer, page: int) -> dict:
    """One page of the timeline without a COUNT: fetch one row more than shown to know if there is more."""
    events = selectors.customer_timeline(request.tenant, customer,
                                         related_object_ids=[_entitlement_ids(request, customer)])
    start = (page - 1) * TIMELINE_PAGE_SIZE
    rows = list(events[start:start + TIMELINE_PAGE_SIZE + 1])
    return {"rows": [{"event": event, "summary": event_summary(event)} for event in rows[:TIMELINE_PAGE_SIZE]],
            "page": page, "has_more": len(rows) > TIMELINE_PAGE_SIZE, "next_page": page + 1}


def _entitlements(request, customer: Customer, *, error: str = "", notice: str = "") -> dict:
    at = now()
    entitlements = list(catalog_selectors.entitlement_list(tenant=request.tenant, customer=customer))
    rows = [{"entitlement": e, "status": e.status_at(at)} for e in entitlements]
    held = {row["entitlement"].benefit_id for row in rows if row["status"] == "active"}
    grantable = [b for b in catalog_selectors.benefit_list(tenant=request.tenant, active=True) if b.pk not in held]
    return {"entitlement_rows": rows, "grantable_benefits": grantable, "entitlement_error": error,
            "entitlement_notice": notice}


def _address_lines(address: dict | None) -> list[str]:
    if not address:
        return []
    country = address.get("country") or ""
    lines = [address.get("line1"), address.get("line2"), address.get("city"),
             " ".join(filter(None, [address.get("state"), address.get("postal_code")])),
             _country_names().get(country, country)]
    return [line for line in lines if line]


def _addresses(customer: Customer) -> list[dict]:
    same = bool(customer.billing_address) and customer.shipping_address == customer.billing_address
    return [{"label": "Billing", "lines": _address_lines(customer.billing_address)},
            {"label": "Shipping", "lines": _address_lines(customer.shipping_address), "same_as_billing": same}]


@dashboard_view(Permission.VIEW_DASHBOARD)
def customer_detail(request, customer_id):
    customer = _customer_or_404(request, customer_id)
    cards = [{"template": card.template, "context": card.context(request, customer) if card.context else {}}
             for card in DETAIL_CARDS]
    return render(request, "customers/detail.html", {
        "customer": customer,
        "addresses": _addresses(customer),
        "timeline": _timeline(request, customer, _page_number(request.GET.get("timeline_page"))),
        "cards": cards,
        **_entitlements(request, customer),
    })


@dashboard_view(Permission.VIEW_DASHBOARD)
def customer_timeline(request, customer_id):
    """More timeline rows (htmx "Load older events"), or the first page again after a change."""
    customer = _customer_or_404(request, customer_id)
    timeline = _timeline(request, customer, _page_number(request.GET.get("page")))
    return render(request, "customers/detail.html#timeline-items", {"customer": customer, "timeline": timeline})


# --- entitlements (htmx; plain POST + redirect without JavaScript) -------------------------------------
def _entitlements_answer(request, customer: Customer, *, error: str = "", notice: str = "", changed: bool = False):
    if not request.htmx:
        if error:
            messages.error(request, error)
        elif notice:
            messages.success(request, notice)
        return redirect(reverse("dashboard:customers_detail", args=[customer.pk]) + "#entitlements")
    response = render(request, "customers/detail.html#entitlements",
                      {"customer": customer, **_entitlements(request, customer, error=error, notice=notice)})
    if changed:
        response["HX-Trigger"] = TIMELINE_CHANGED
    return response


@dashboard_view(Permission.MANAGE_CUSTOMERS)
@require_POST
def customer_entitlement_grant(request, customer_id):
    customer = _customer_or_404(request, customer_id)
    benefit_id = request.POST.get("benefit", "").strip()
    if not benefit_id:
        return _entitlements_answer(request, customer, error="Choose a benefit to grant.")
    try:
        benefit = catalog_selectors.benefit_get(tenant=request.tenant, benefit_id=benefit_id)
        entitlement = catalog_services.entitlement_grant(
            tenant=request.tenant, customer=customer, benefit=benefit, source=EntitlementSource.MANUAL,
            actor=_actor(request), request_id=request.request_id)
    except DomainError as exc:
        return _entitlements_answer(request, customer, error=exc.message)
    if not entitlement.newly_granted:
        return _entitlements_answer(request, customer, notice=f"{customer} already has “{benefit.name}”.")
    return _entitlements_answer(request, customer, notice=f"Granted “{benefit.name}”.", changed=True)


@dashboard_view(Permission.MANAGE_CUSTOMERS)
@require_POST
def customer_entitlement_revoke(request, customer_id, entitlement_id):
    customer = _customer_or_404(request, customer_id)
    try:
        entitlement = catalog_selectors.entitlement_get(tenant=request.tenant, customer=customer,
                                                        entitlement_id=entitlement_id)
    except NotFound:
        raise Http404("No such entitlement")
    was_revoked = entitlement.revoked_at is not None
    try:
        catalog_services.entitlement_revoke(tenant=request.tenant, actor=_actor(request), entitlement=entitlement,
                                            request_id=request.request_id)
    except DomainError as exc:
        return _entitlements_answer(request, customer, error=exc.message)
    if was_revoked:
        return _entitlements_answer(request, customer, notice=f"“{entitlement.benefit.name}” was already revoked.")
    return _entitlements_answer(request, customer, notice=f"Revoked “{entitlement.benefit.name}”.", changed=True)


# --- the timeline's words ----------------------------------------------------------------------------
FIELD_NAMES = {"email": "email", "name": "name", "company_name": "company name", "phone": "phone",
               "billing_address": "billing address", "shipping_address": "shipping address", "tax_ids": "tax ids",
               "locale": "language", "currency": "preferred currency", "metadata": "metadata",
               "external_ids": "external ids"}
SOURCE_WORDS = {EntitlementSource.MANUAL: "by hand", EntitlementSource.API: "through the API",
                EntitlementSource.PURCHASE: "by a purchase"}


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def event_summary(event: Event) -> str:
    """One line a person can read for a timeline event; its JSON is one click away in Activity."""
    obj = event.data or {}
    benefit = (obj.get("benefit") or {}).get("name") or obj.get("benefit_key") or "a benefit"
    if event.type == "customer.created":
        return f"Customer created ({obj.get('email')})" if obj.get("email") else "Customer created"
    if event.type == "customer.updated":
        previous = event.previous_attributes or {}
        parts = []
        for name in previous:
            label = FIELD_NAMES.get(name, name.replace("_", " "))
            if name in ("email", "name") and previous[name] and obj.get(name):
                label = f"{label} ({previous[name]} → {obj[name]})"
            parts.append(label)
        return f"Changed {_join(parts)}" if parts else "Customer updated"
    if event.type == "customer.deleted":
        return "Customer deleted"
    if event.type == "benefits.granted":
        how = SOURCE_WORDS.get(obj.get("source"), "")
        return f"Granted “{benefit}”" + (f" {how}" if how else "")
    if event.type == "entitlement.revoked":
        return f"Revoked “{benefit}”"
    if event.type == "entitlement.expired":
        return f"“{benefit}” expired"
    return event.type.replace(".", " ").replace("_", " ").capitalize()
