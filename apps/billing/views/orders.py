"""Dashboard pages of orders (Sales > Orders, page 024): the list (status, date and customer filters, pages,
a constant number of queries) and the detail — lines with their fulfilment status, the benefits granted
for the digital lines (the customer's entitlements whose source_reference is the order), the invoice it
came from, and the actions its status allows: mark shipped (carrier and tracking number), mark delivered,
cancel.

Views are thin: the order services (services/orders.py, the same the API calls) do every write and
refuse what the state machine does not allow; their errors are shown as messages. Roles (page 054):
everyone on the team sees orders; those who manage customers (not viewers) ship, deliver and cancel.
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission, role_has
from apps.catalog.models import Entitlement, FulfillmentType
from apps.core.actors import Actor
from apps.core.errors import DomainError
from apps.core.forms import add_domain_error
from apps.core.tenancy import scoped

from ..models import Order, OrderLine
from ..services import orders as order_services

PAGE_SIZE = 25
RESULTS_ID = "order-results"
STATUS_TONES = {"draft": "gray", "pending": "orange", "partially_paid": "orange", "paid": "blue",
                "partially_fulfilled": "purple", "fulfilled": "green", "canceled": "gray", "refunded": "red"}
LINE_TONES = {"pending": "orange", "shipped": "blue", "delivered": "green", "failed": "red", "revoked": "gray"}
SORTS = {"": ("-created_at", "-pk"), "oldest": ("created_at", "pk"), "total_desc": ("-total_minor", "-pk"),
         "total_asc": ("total_minor", "pk")}
SHIPPABLE = (OrderLine.FulfillmentStatus.PENDING, OrderLine.FulfillmentStatus.FAILED)


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Order.Status.choices])
    customer = forms.CharField(required=False, label="Customer", max_length=200,
                               widget=forms.TextInput(attrs={"placeholder": "Name, email or cus_…",
                                                             "type": "search"}))
    date_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(required=False, label="Sort", choices=[("", "Newest first"), ("oldest", "Oldest first"),
                                                                    ("total_desc", "Total, highest first"),
                                                                    ("total_asc", "Total, lowest first")])

    @property
    def filtered(self) -> bool:
        return self.is_valid() and any(value not in (None, "") for name, value in self.cleaned_data.items()
                                       if name != "sort")

    def ordering(self) -> tuple[str, ...]:
        sort = getattr(self, "cleaned_data", {}).get("sort") or ""
        return SORTS.get(sort, SORTS[""])

    def apply(self, orders):
        """Only the fields that parsed; a bad one is shown as an error and ignored."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if data.get("status"):
            orders = orders.filter(status=data["status"])
        if data.get("customer"):
            term = data["customer"].strip()
            orders = orders.filter(Q(customer_id=term) | Q(customer__name__icontains=term)
                                   | Q(customer__email__icontains=term) | Q(customer__company_name__icontains=term))
        if data.get("date_from"):
            orders = orders.filter(created_at__date__gte=data["date_from"])
        if data.get("date_to"):
            orders = orders.filter(created_at__date__lte=data["date_to"])
        return orders


class ShipForm(forms.Form):
    carrier = forms.CharField(max_length=60, help_text="e.g. Royal Mail, DPD")
    tracking_number = forms.CharField(max_length=100)
    line_ids = forms.MultipleChoiceField(required=False, label="Lines", widget=forms.CheckboxSelectMultiple,
                                         help_text="None ticked: every physical line not shipped yet")

    def __init__(self, *args, lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["line_ids"].choices = [(line.pk, f"{line.quantity} × {line.description}") for line in lines]


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False, widget=forms.TextInput(
        attrs={"placeholder": "e.g. Customer changed their mind"}))


def _actor(request) -> Actor:
    return Actor.for_user(request.user)


def _request_id(request) -> str:
    return getattr(request, "request_id", "")


def _can_act(request) -> bool:
    return role_has(request.membership.role, Permission.MANAGE_CUSTOMERS)


def _order_or_404(request, order_id: str) -> Order:
    order = (scoped(Order, tenant=request.tenant).select_related("customer", "invoice")
             .filter(pk=order_id).first())
    if order is None:
        raise Http404("No such order")
    return order


@dashboard_view(Permission.VIEW_DASHBOARD)
def order_list(request):
    form = OrderFilterForm(request.GET or None)
    orders = form.apply(scoped(Order, tenant=request.tenant)).select_related("customer", "invoice") \
        .annotate(line_count=Count("lines")).order_by(*form.ordering())
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(order, STATUS_TONES.get(order.status, "gray")) for order in page.object_list]
    context = {"form": form, "page": page, "rows": rows, "filtered": form.filtered, "results_id": RESULTS_ID}
    if request.htmx and request.htmx.target == RESULTS_ID:
        return render(request, "billing/orders/list.html#results", context)
    return render(request, "billing/orders/list.html", context)


def _detail_context(request, order: Order, *, ship_form: ShipForm | None = None,
                    cancel_form: CancelForm | None = None) -> dict:
    lines = list(order.lines.select_related("product").order_by("position", "id"))
    shippable = [line for line in lines if line.fulfillment_type == FulfillmentType.PHYSICAL
                 and line.fulfillment_status in SHIPPABLE]
    deliverable = [line for line in lines if line.fulfillment_type == FulfillmentType.PHYSICAL
                   and line.fulfillment_status != OrderLine.FulfillmentStatus.DELIVERED]
    entitlements = list(scoped(Entitlement, tenant=request.tenant)
                        .filter(customer_id=order.customer_id, source_reference=order.pk)
                        .select_related("benefit").order_by("created_at", "pk"))
    fulfillable = order.status in order_services.FULFILLABLE_ORDER_STATUSES
    can_act = _can_act(request)
    return {
        "order": order, "tone": STATUS_TONES.get(order.status, "gray"),
        "lines": [(line, LINE_TONES.get(line.fulfillment_status, "gray")) for line in lines],
        "entitlements": entitlements, "can_act": can_act,
        "can_ship": can_act and fulfillable and bool(shippable),
        "can_deliver": can_act and fulfillable and bool(deliverable),
        "can_cancel": can_act and order.status in order_services.CANCELABLE_ORDER_STATUSES and all(
            line.fulfillment_status == OrderLine.FulfillmentStatus.PENDING for line in lines),
        "ship_form": ship_form or ShipForm(lines=shippable, initial={"carrier": order.carrier}),
        "cancel_form": cancel_form or CancelForm(),
        "shipping": order.shipping_address or (order.invoice.customer_address if order.invoice else None) or {},
        "shipping_is_billing": not order.shipping_address and bool(order.invoice and order.invoice.customer_address),
        "has_digital": any(line.fulfillment_type == FulfillmentType.DIGITAL for line in lines),
    }


@dashboard_view(Permission.VIEW_DASHBOARD)
def order_detail(request, order_id):
    order = _order_or_404(request, order_id)
    return render(request, "billing/orders/detail.html", _detail_context(request, order))


@dashboard_view(Permission.MANAGE_CUSTOMERS)
@require_POST
def order_ship(request, order_id):
    order = _order_or_404(request, order_id)
    shippable = [line for line in order.lines.order_by("position", "id")
                 if line.fulfillment_type == FulfillmentType.PHYSICAL and line.fulfillment_status in SHIPPABLE]
    form = ShipForm(request.POST, lines=shippable)
    if form.is_valid():
        try:
            order_services.order_fulfill(
                tenant=request.tenant, actor=_actor(request), order=order,
                line_ids=form.cleaned_data["line_ids"] or [line.pk for line in shippable],
                status=OrderLine.FulfillmentStatus.SHIPPED, carrier=form.cleaned_data["carrier"].strip(),
                tracking_number=form.cleaned_data["tracking_number"].strip(), request_id=_request_id(request))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Marked shipped with {form.cleaned_data['carrier']} "
                                      f"({form.cleaned_data['tracking_number']}).")
            return redirect("dashboard:order_detail", order.pk)
    return render(request, "billing/orders/detail.html", _detail_context(request, order, ship_form=form),
                  status=400)


@dashboard_view(Permission.MANAGE_CUSTOMERS)
@require_POST
def order_deliver(request, order_id):
    order = _order_or_404(request, order_id)
    line_ids = request.POST.getlist("line_ids") or None
    try:
        order_services.order_fulfill(tenant=request.tenant, actor=_actor(request), order=order, line_ids=line_ids,
                                     status=OrderLine.FulfillmentStatus.DELIVERED, request_id=_request_id(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Marked delivered.")
    return redirect("dashboard:order_detail", order.pk)


@dashboard_view(Permission.MANAGE_CUSTOMERS)
@require_POST
def order_cancel(request, order_id):
    order = _order_or_404(request, order_id)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            order_services.order_cancel(tenant=request.tenant, actor=_actor(request), order=order,
                                        reason=form.cleaned_data["reason"].strip(), request_id=_request_id(request))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            paid = order.amount_paid_minor > 0
            messages.success(request, "Order canceled." + (
                " No money moved: to give the payment back, issue a credit note on its invoice." if paid else ""))
    else:
        messages.error(request, "The reason is too long (500 characters at most).")
    return redirect("dashboard:order_detail", order.pk)


urlpatterns = [
    path("orders/", order_list, name="orders"),
    path("orders/<str:order_id>/", order_detail, name="order_detail"),
    path("orders/<str:order_id>/ship/", order_ship, name="order_ship"),
    path("orders/<str:order_id>/deliver/", order_deliver, name="order_deliver"),
    path("orders/<str:order_id>/cancel/", order_cancel, name="order_cancel"),
]
