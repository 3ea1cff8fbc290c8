"""Discounts: list (search by code, status filter, pages), create, and the detail page with usage
counts, edit, deactivate / reactivate and delete (which archives a discount that was redeemed)."""
from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission
from apps.core.errors import DomainError, NotFound

from .. import selectors, services
from ..forms import DISCOUNT_ERROR_FIELDS, DiscountFilterForm, DiscountForm, add_service_error
from ._common import (
    actor,
    can_manage,
    disable_fields,
    or_404,
    paginate,
    request_id,
    require_manage,
    wants_partial,
)

RESULTS_ID = "discount-results"
RECENT_REDEMPTIONS = 10


@dashboard_view(Permission.VIEW_DASHBOARD)
def discount_list(request):
    form = DiscountFilterForm(request.GET)
    page = paginate(request, selectors.discount_list(tenant=request.tenant, **form.selector_filters()))
    context = {"form": form, "page": page, "filtered": form.filtered, "results_id": RESULTS_ID}
    if wants_partial(request, RESULTS_ID):
        return render(request, "catalog/discount_list.html#results", context)
    return render(request, "catalog/discount_list.html", context)


@dashboard_view(Permission.MANAGE_PRODUCTS)
def discount_create(request):
    form = _form(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            discount = services.discount_create(tenant=request.tenant, actor=actor(request), data=form.create_data(),
                                                request_id=request_id(request))
        except DomainError as exc:
            add_service_error(form, exc, DISCOUNT_ERROR_FIELDS)
        else:
            messages.success(request, f"Discount {discount.code or discount.name or discount.pk} created.")
            return redirect("dashboard:discount_detail", discount_id=discount.pk)
    return render(request, "catalog/discount_form.html", {"form": form})


@dashboard_view(Permission.VIEW_DASHBOARD)
def discount_detail(request, discount_id):
    discount = or_404(selectors.discount_get, tenant=request.tenant, discount_id=discount_id)
    form = _form(request, request.POST if request.method == "POST" else None, discount=discount)
    if request.method == "POST":
        require_manage(request)
        if form.is_valid():
            changes = form.update_data()
            if not changes:
                messages.info(request, "Nothing changed.")
                return redirect("dashboard:discount_detail", discount_id=discount.pk)
            try:
                services.discount_update(tenant=request.tenant, actor=actor(request), discount_id=discount.pk,
                                         data=changes, request_id=request_id(request))
            except DomainError as exc:
                add_service_error(form, exc, DISCOUNT_ERROR_FIELDS)
            else:
                messages.success(request, "Discount saved.")
                return redirect("dashboard:discount_detail", discount_id=discount.pk)
    if not can_manage(request) or discount.archived_at is not None:
        disable_fields(form)
    return render(request, "catalog/discount_detail.html", {
        "discount": discount, "form": form, "can_manage": can_manage(request),
        "totals": selectors.discount_redemption_totals(tenant=request.tenant, discount=discount),
        "redemptions": list(selectors.discount_redemption_list(tenant=request.tenant,
                                                               discount=discount)[:RECENT_REDEMPTIONS]),
        "scope_products": list(discount.products.all()),
    })


@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def discount_set_active(request, discount_id):
    """Deactivate (the code stops working at once) or reactivate."""
    active = request.POST.get("active") == "true"
    try:
        discount = services.discount_update(tenant=request.tenant, actor=actor(request), discount_id=discount_id,
                                            data={"active": active}, request_id=request_id(request))
    except NotFound as exc:
        raise Http404(exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        label = discount.code or discount.name or discount.pk
        messages.success(request, f"{label} reactivated." if active else f"{label} deactivated: it can no longer be used.")
    return redirect("dashboard:discount_detail", discount_id=discount_id)


@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def discount_delete(request, discount_id):
    """Never redeemed: gone (its code is free again). Redeemed: archived, history kept."""
    try:
        discount = services.discount_delete(tenant=request.tenant, actor=actor(request), discount_id=discount_id,
                                            request_id=request_id(request))
    except NotFound as exc:
        raise Http404(exc.message)
    label = discount.code or discount.name or discount.pk
    if discount.deleted_at is not None:
        messages.success(request, f"Discount {label} deleted.")
        return redirect("dashboard:discounts")
    messages.success(request, f"Discount {label} had been redeemed, so it was archived instead: it can no longer be "
                              "used and its history is kept.")
    return redirect("dashboard:discount_detail", discount_id=discount.pk)


def _form(request, data, discount=None) -> DiscountForm:
    """The form with the tenant's products and prices to scope to (active ones, plus any the
    discount already names)."""
    chosen = {p.pk for p in discount.prices.all()} if discount is not None else set()
    prices = (selectors.price_list(tenant=request.tenant).filter(Q(active=True) | Q(pk__in=chosen))
              .select_related("product").order_by("product__name", "created_at"))
    products = selectors.product_list(tenant=request.tenant, sort="name")
    return DiscountForm(data, products=products, prices=prices, discount=discount,
                        currency=request.merchant.settlement_currency or "USD")
