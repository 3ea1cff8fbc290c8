"""Products: the list (search, filter, sort, pages, CSV export), create, and the editor with its
prices and benefits changed inline with htmx."""
from __future__ import annotations

import csv

from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission
from apps.core.clock import now
from apps.core.errors import DomainError, NotFound

from .. import selectors, services
from ..display import csv_safe, prices_summary
from ..forms import (
    PRICE_ERROR_FIELDS,
    AttachBenefitForm,
    PriceForm,
    ProductFilterForm,
    ProductForm,
    add_service_error,
)
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

RESULTS_ID = "product-results"
# Rows fetched per round trip by the export: a catalog up to this size costs the same few queries
# (the page query and one per prefetch); a bigger one streams in chunks without holding it all.
EXPORT_CHUNK = 2000
EXPORT_COLUMNS = ["id", "name", "active", "fulfillment_type", "prices", "external_id", "created"]


# --- list and export ------------------------------------------------------------------------------
@dashboard_view(Permission.VIEW_DASHBOARD)
def product_list(request):
    form = ProductFilterForm(request.GET)
    page = paginate(request, selectors.product_list(tenant=request.tenant, **form.selector_filters()))
    context = {"form": form, "page": page, "filtered": form.filtered, "results_id": RESULTS_ID}
    if not page.object_list:
        # Which empty state: a brand-new catalog, or filters that match nothing.
        context["catalog_empty"] = not selectors.product_list(tenant=request.tenant).exists()
    if wants_partial(request, RESULTS_ID):
        return render(request, "catalog/product_list.html#results", context)
    return render(request, "catalog/product_list.html", context)


class _Echo:
    """csv.writer wants a file; this one hands each line back for streaming."""

    def write(self, value):
        return value


@dashboard_view(Permission.VIEW_DASHBOARD)
def product_export(request):
    """The list as CSV, with the same search and status filter, streamed row by row."""
    form = ProductFilterForm(request.GET)
    products = selectors.product_list(tenant=request.tenant, **form.selector_filters())
    zone = timezone.get_current_timezone()  # the merchant's; the stream runs after the view returns
    response = StreamingHttpResponse(_csv_lines(products, zone), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(now(), zone).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="products-{request.tenant.mode}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _csv_lines(products, zone):
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(EXPORT_COLUMNS)  # the BOM makes Excel read UTF-8 (£, €)
    for product in products.iterator(chunk_size=EXPORT_CHUNK):
        external = [product.lookup_key] if product.lookup_key else []
        external += [f"{e.source}:{e.external_id}" for e in product.external_ids.all()]
        yield writer.writerow([csv_safe(value) for value in (
            product.pk, product.name, "yes" if product.active else "no", product.fulfillment_type,
            prices_summary(product.active_prices), "; ".join(external),
            timezone.localtime(product.created_at, zone).strftime("%Y-%m-%d %H:%M"),
        )])


# --- create and edit --------------------------------------------------------------------------------
@dashboard_view(Permission.MANAGE_PRODUCTS)
def product_create(request):
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(tenant=request.tenant, actor=actor(request), data=form.service_data(),
                                              request_id=request_id(request))
        except DomainError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"“{product.name}” created. Now add its prices.")
            return redirect("dashboard:product_detail", product_id=product.pk)
    return render(request, "catalog/product_form.html", {"form": form})


@dashboard_view(Permission.VIEW_DASHBOARD)
def product_detail(request, product_id):
    product = _product(request, product_id)
    form = ProductForm.for_product(product, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        require_manage(request)
        if form.is_valid():
            try:
                services.product_update(tenant=request.tenant, actor=actor(request), product_id=product.pk,
                                        data=form.service_data(product), request_id=request_id(request))
            except DomainError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, "Product saved.")
                return redirect("dashboard:product_detail", product_id=product.pk)
    if not can_manage(request):
        disable_fields(form)
    return render(request, "catalog/product_detail.html", _editor_context(request, product, form=form))


@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def product_archive(request, product_id):
    product = _product(request, product_id)
    _change(request, lambda: services.product_archive(tenant=request.tenant, actor=actor(request),
                                                      product_id=product.pk, request_id=request_id(request)),
            f"“{product.name}” archived: it can no longer be bought; existing subscriptions are not affected.")
    return redirect("dashboard:product_detail", product_id=product.pk)


@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def product_unarchive(request, product_id):
    product = _product(request, product_id)
    _change(request, lambda: services.product_update(tenant=request.tenant, actor=actor(request),
                                                     product_id=product.pk, data={"active": True},
                                                     request_id=request_id(request)),
            f"“{product.name}” is for sale again.")
    return redirect("dashboard:product_detail", product_id=product.pk)


@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def product_delete(request, product_id):
    """Only a product that was never sold; the service refuses the others (archive them)."""
    product = _product(request, product_id)
    if _change(request, lambda: services.product_delete(tenant=request.tenant, actor=actor(request),
                                                        product_id=product.pk, request_id=request_id(request)),
               f"“{product.name}” and its prices were deleted."):
        return redirect("dashboard:products")
    return redirect("dashboard:product_detail", product_id=product.pk)


# --- prices (inline) -------------------------------------------------------------------------------
@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def price_add(request, product_id):
    product = _product(request, product_id)
    form = PriceForm(request.POST, currency=_default_currency(request, product))
    created = None
    if form.is_valid():
        try:
            created = services.price_create(tenant=request.tenant, actor=actor(request),
                                            data=form.service_data(product), request_id=request_id(request))
        except DomainError as exc:
            add_service_error(form, exc, PRICE_ERROR_FIELDS)
    if not request.htmx:
        if created is None:
            return render(request, "catalog/product_detail.html",
                          _editor_context(request, product, price_form=form))
        messages.success(request, "Price added.")
        return redirect("dashboard:product_detail", product_id=product.pk)
    if created is not None:
        # A fresh form for the next price, in the same currency and type (monthly, then yearly…).
        form = PriceForm(initial={"type": form.cleaned_data["type"], "currency": created.currency,
                                  "tax_behavior": created.tax_behavior}, currency=created.currency)
    context = _prices_context(request, product)
    context.update(price_form=form, created=created)
    return render(request, "catalog/product_detail.html#prices-panel", context)


@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def price_archive(request, product_id, price_id):
    return _price_change(request, product_id, price_id, {"active": False},
                         "Price archived: it can no longer be bought; existing subscriptions keep it.")


@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def price_restore(request, product_id, price_id):
    return _price_change(request, product_id, price_id, {"active": True}, "Price restored: it can be bought again.")


def _price_change(request, product_id, price_id, data, success):
    product = _product(request, product_id)
    price = or_404(selectors.price_get, tenant=request.tenant, price_id=price_id)
    if price.product_id != product.pk:
        raise Http404("No such price on this product")
    error = None
    try:
        price = services.price_update(tenant=request.tenant, actor=actor(request), price_id=price.pk, data=data,
                                      request_id=request_id(request))
    except NotFound as exc:
        raise Http404(exc.message)
    except DomainError as exc:
        error = exc.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, success)
        return redirect("dashboard:product_detail", product_id=product.pk)
    return render(request, "catalog/product_detail.html#price-row",
                  {"price": price, "product": product, "can_manage": True, "row_error": error,
                   "row_saved": None if error else success})


# --- benefits attached to the product ----------------------------------------------------------------
@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def product_benefit_attach(request, product_id):
    product = _product(request, product_id)
    form = AttachBenefitForm(request.POST, benefits=_attachable_benefits(request, product))
    if form.is_valid():
        try:
            product = services.product_benefit_attach(tenant=request.tenant, actor=actor(request),
                                                      product_id=product.pk, benefit_id=form.cleaned_data["benefit"],
                                                      request_id=request_id(request))
        except DomainError as exc:
            add_service_error(form, exc)
    return _benefits_response(request, product, form)


@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def product_benefit_detach(request, product_id, benefit_id):
    product = _product(request, product_id)
    product = services.product_benefit_detach(tenant=request.tenant, actor=actor(request), product_id=product.pk,
                                              benefit_id=benefit_id, request_id=request_id(request))
    return _benefits_response(request, product, None)


def _benefits_response(request, product, form):
    if not request.htmx:
        if form is not None and form.errors:
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("dashboard:product_detail", product_id=product.pk)
    context = _benefits_context(request, product)
    if form is not None and form.errors:
        context["attach_form"] = form
    return render(request, "catalog/product_detail.html#benefits-panel", context)


# --- helpers -----------------------------------------------------------------------------------------
def _product(request, product_id):
    return or_404(selectors.product_get, tenant=request.tenant, product_id=product_id)


def _change(request, call, success: str) -> bool:
    """Runs a one-click service call; its refusal ("this product has been sold") becomes a message."""
    try:
        call()
    except NotFound as exc:
        raise Http404(exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True


def _default_currency(request, product) -> str:
    """The currency of the product's newest price, else the merchant's settlement currency."""
    prices = getattr(product, "active_prices", None) or []
    return prices[-1].currency if prices else (request.merchant.settlement_currency or "USD")


def _prices_context(request, product) -> dict:
    # Active prices first (oldest first, as customers see them), then archived ones.
    prices = sorted(selectors.price_list(tenant=request.tenant, product_id=product.pk),
                    key=lambda p: (not p.active, p.created_at, p.pk))
    return {"product": product, "prices": prices, "can_manage": can_manage(request)}


def _attachable_benefits(request, product) -> list:
    attached = {pb.benefit_id for pb in product.live_product_benefits}
    return [b for b in selectors.benefit_list(tenant=request.tenant) if b.pk not in attached]


def _benefits_context(request, product) -> dict:
    available = _attachable_benefits(request, product)
    return {"product": product, "attached_benefits": [pb.benefit for pb in product.live_product_benefits],
            "attach_form": AttachBenefitForm(benefits=available), "available_benefits": available,
            "can_manage": can_manage(request)}


def _editor_context(request, product, *, form=None, price_form=None) -> dict:
    prices = _prices_context(request, product)
    context = {**prices, **_benefits_context(request, product)}
    context.update(
        form=form or ProductForm.for_product(product),
        price_form=price_form or PriceForm(currency=_default_currency(request, product)),
        # The delete button is offered only while nothing was ever sold (the service re-checks).
        deletable=not product.has_been_sold and not any(p.has_been_sold for p in prices["prices"]),
    )
    if not context["can_manage"]:
        disable_fields(context["form"])
    return context
