"""Benefits (page 017): list, create, edit and delete. Granting one to a customer by hand lives on
the customer's page (customers app); attaching one to a product lives on the product editor."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission
from apps.core.errors import DomainError, NotFound

from .. import selectors, services
from ..forms import (
    BENEFIT_CONFIG_FORM_FIELDS,
    BENEFIT_ERROR_FIELDS,
    BenefitFilterForm,
    BenefitForm,
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

RESULTS_ID = "benefit-results"


@dashboard_view(Permission.VIEW_DASHBOARD)
def benefit_list(request):
    form = BenefitFilterForm(request.GET)
    page = paginate(request, selectors.benefit_list_with_usage(tenant=request.tenant, **form.selector_filters()))
    context = {"form": form, "page": page, "filtered": form.filtered, "results_id": RESULTS_ID}
    if wants_partial(request, RESULTS_ID):
        return render(request, "catalog/benefit_list.html#results", context)
    return render(request, "catalog/benefit_list.html", context)


@dashboard_view(Permission.MANAGE_PRODUCTS)
def benefit_create(request):
    form = BenefitForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            benefit = services.benefit_create(tenant=request.tenant, actor=actor(request), data=form.service_data(),
                                              request_id=request_id(request))
        except DomainError as exc:
            add_service_error(form, exc, BENEFIT_ERROR_FIELDS)
        else:
            messages.success(request, f"Benefit “{benefit.name}” created. Attach it to products from their pages.")
            return redirect("dashboard:benefit_detail", benefit_id=benefit.pk)
    return render(request, "catalog/benefit_form.html", {"form": form, "config_fields": BENEFIT_CONFIG_FORM_FIELDS})


@dashboard_view(Permission.VIEW_DASHBOARD)
def benefit_detail(request, benefit_id):
    benefit = or_404(selectors.benefit_get, tenant=request.tenant, benefit_id=benefit_id)
    form = BenefitForm(request.POST if request.method == "POST" else None, benefit=benefit)
    if request.method == "POST":
        require_manage(request)
        if form.is_valid():
            try:
                services.benefit_update(tenant=request.tenant, actor=actor(request), benefit_id=benefit.pk,
                                        data=form.service_data(), request_id=request_id(request))
            except DomainError as exc:
                add_service_error(form, exc, BENEFIT_ERROR_FIELDS)
            else:
                messages.success(request, "Benefit saved.")
                return redirect("dashboard:benefit_detail", benefit_id=benefit.pk)
    if not can_manage(request):
        disable_fields(form)
    return render(request, "catalog/benefit_form.html", {
        "form": form, "benefit": benefit, "can_manage": can_manage(request),
        "config_fields": BENEFIT_CONFIG_FORM_FIELDS,
        "products": list(selectors.benefit_products(tenant=request.tenant, benefit=benefit)),
    })


@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def benefit_delete(request, benefit_id):
    """Detaches it from every product and revokes every customer's access (the service does both)."""
    try:
        benefit = services.benefit_delete(tenant=request.tenant, actor=actor(request), benefit_id=benefit_id,
                                          request_id=request_id(request))
    except NotFound as exc:
        raise Http404(exc.message)
    messages.success(request, f"Benefit “{benefit.name}” deleted; customers who held it no longer do.")
    return redirect("dashboard:benefits")
