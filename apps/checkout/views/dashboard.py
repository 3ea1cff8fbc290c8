"""Dashboard pages of checkout (pages 011, 018, 099): payment links (list with conversion analytics,
detail with the share URL, an inline QR code and status actions, the builder with a live preview of what
the buyer will see) and the checkout appearance settings (owners and admins, with a live preview).

Views are thin: forms read input, `apps.checkout.services` validate and write, a service's DomainError
becomes form errors or a message. Anyone on the team sees links; creating and changing them is catalog
work (MANAGE_PRODUCTS); appearance is an account setting (ACCOUNT_SETTINGS). Another merchant's or the
other mode's link is a 404.
"""
from __future__ import annotations

from dataclasses import dataclass

import segno
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from apps.accounts.decorators import dashboard_view
from apps.accounts.permissions import Permission, role_has
from apps.core.actors import Actor
from apps.core.errors import DomainError
from apps.core.forms import add_domain_error
from apps.core.tenancy import scoped

from .. import services
from ..forms import ITEM_ROWS, CheckoutSettingsForm, PaymentLinkForm, one_time_prices, parse_custom_fields
from ..models import CheckoutSession, CheckoutSettings, PaymentLink, PaymentLinkItem
from ..payloads import payment_link_url

PAGE_SIZE = 25
RESULTS_ID = "link-results"
PREVIEW_ID = "checkout-preview"
STATUS_TONES = {"active": "green", "inactive": "orange", "archived": "gray", "expired": "red"}
SESSION_TONES = {"open": "blue", "complete": "green", "expired": "gray"}
# The status actions offered on the detail page, by current status (the model's state machine allows them).
ACTIONS = {
    "active": ["inactive", "expired", "archived"],
    "inactive": ["active", "expired", "archived"],
    "expired": ["active", "archived"],
    "archived": [],
}
ACTION_LABELS = {"active": "Activate", "inactive": "Pause", "expired": "Expire now", "archived": "Archive"}
ACTION_CONFIRMS = {"archived": "Archive this link for good? Buyers will see a closed page and it cannot be "
                               "activated again.",
                   "expired": "Expire this link now? Buyers will see an expired page until you activate it again."}
DONE_MESSAGES = {"active": "Payment link activated: it takes payments again.",
                 "inactive": "Payment link paused: buyers see that it is paused.",
                 "expired": "Payment link expired.", "archived": "Payment link archived."}


def _actor(request) -> Actor:
    return Actor.for_user(request.user)


def _request_id(request) -> str:
    return getattr(request, "request_id", "")


def _percent(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.1f}%" if whole else "—"


@dataclass(frozen=True)
class LinkStats:
    views: int
    started: int
    completed: int
    conversion: str  # completions / views (page 018's definition, as the API's analytics)
    abandonment: str  # started but not completed / sessions started
    revenue_minor: int


def stats_of(link: PaymentLink) -> LinkStats:
    started, completed = link.sessions_started_count, link.uses_count
    return LinkStats(link.views_count, started, completed, _percent(completed, link.views_count),
                     _percent(max(started - completed, 0), started), link.revenue_minor)


def _items_prefetch() -> Prefetch:
    return Prefetch("items", queryset=PaymentLinkItem.objects.select_related("price__product")
                    .order_by("position", "id"))


def _link_or_404(request, link_id: str) -> PaymentLink:
    link = (scoped(PaymentLink, tenant=request.tenant).filter(pk=link_id).prefetch_related(_items_prefetch())
            .first())
    if link is None:
        raise Http404("No such payment link")
    return link


# --- list ---------------------------------------------------------------------------------------------
@dashboard_view(Permission.VIEW_DASHBOARD)
def payment_links(request):
    status = request.GET.get("status", "")
    links = scoped(PaymentLink, tenant=request.tenant).prefetch_related(_items_prefetch())
    if status in PaymentLink.Status.values:
        links = links.filter(status=status)
    else:
        status = ""
    page = Paginator(links, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(link, stats_of(link), STATUS_TONES.get(link.status, "gray")) for link in page.object_list]
    context = {"rows": rows, "page": page, "status": status, "statuses": PaymentLink.Status.choices,
               "results_id": RESULTS_ID, "can_manage": role_has(request.membership.role, Permission.MANAGE_PRODUCTS)}
    if request.htmx and request.htmx.target == RESULTS_ID:
        return render(request, "checkout/dashboard/links/list.html#results", context)
    return render(request, "checkout/dashboard/links/list.html", context)


# --- detail and status --------------------------------------------------------------------------------
def qr_svg(url: str) -> str:
    """The share URL as an inline SVG QR code, made here (no network, no image request)."""
    return segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#0F172A", title="QR code of the link")


@dashboard_view(Permission.VIEW_DASHBOARD)
def payment_link_detail(request, link_id):
    link = _link_or_404(request, link_id)
    url = payment_link_url(link)
    sessions = list(scoped(CheckoutSession, tenant=request.tenant).filter(payment_link=link)
                    .order_by("-created_at", "-id")[:20])
    can_manage = role_has(request.membership.role, Permission.MANAGE_PRODUCTS)
    context = {"link": link, "items": list(link.items.all()), "stats": stats_of(link), "share_url": url,
               "qr_svg": qr_svg(url), "tone": STATUS_TONES.get(link.status, "gray"),
               "sessions": [(s, SESSION_TONES.get(s.status, "gray")) for s in sessions],
               "closed_reason": services.payment_link_closed_reason(link),
               "actions": [(status, ACTION_LABELS[status], ACTION_CONFIRMS.get(status, ""))
                           for status in ACTIONS.get(link.status, [])]
               if can_manage else []}
    return render(request, "checkout/dashboard/links/detail.html", context)


@dashboard_view(Permission.MANAGE_PRODUCTS)
@require_POST
def payment_link_status(request, link_id):
    link = _link_or_404(request, link_id)
    status = request.POST.get("status", "")
    if status not in ACTIONS.get(link.status, []):
        messages.error(request, "That change is not possible for this link now.")
        return redirect("dashboard:payment_link_detail", link.pk)
    try:
        services.payment_link_set_status(tenant=request.tenant, actor=_actor(request), link=link, status=status,
                                         request_id=_request_id(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, DONE_MESSAGES[status])
    return redirect("dashboard:payment_link_detail", link.pk)


# --- builder ------------------------------------------------------------------------------------------
@dashboard_view(Permission.MANAGE_PRODUCTS)
def payment_link_new(request):
    form = PaymentLinkForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            link = services.payment_link_create(
                tenant=request.tenant, actor=_actor(request), name=data["name"],
                items=[services.LinkItemInput(**item) for item in data["items"]],
                success_url=data["success_url"], cancel_url=data["cancel_url"],
                success_message=data["success_message"], expires_at=data["expires_at"], max_uses=data["max_uses"],
                custom_fields=data["custom_fields"], request_id=_request_id(request),
                **{name: data[name] for name in services.links.LINK_OPTIONS})
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, f"Payment link {link.name} created. Share its URL or QR code.")
            return redirect("dashboard:payment_link_detail", link.pk)
    context = {"form": form, "preview_id": PREVIEW_ID, **_link_preview(request, form)}
    return render(request, "checkout/dashboard/links/new.html", context)


def _link_preview(request, form: PaymentLinkForm) -> dict:
    """What the buyer will see with the values typed so far (valid or not)."""
    settings = services.checkout_settings_for(request.merchant)
    by_id = {p.pk: p for p in form.prices}
    raw = form.data if form.is_bound else {}
    items = []
    for i in range(ITEM_ROWS):
        price = by_id.get(raw.get(f"price_{i}", ""))
        if price is None:
            continue
        try:
            quantity = max(int(raw.get(f"quantity_{i}") or 1), 1)
        except ValueError:
            quantity = 1
        items.append({"price": price, "product": price.product, "quantity": quantity})
    flags = {name: bool(raw.get(name)) for name in services.links.LINK_OPTIONS}
    custom = list(settings.custom_fields or []) + parse_custom_fields(raw.get("custom_fields", ""))
    return {"preview": _preview(request, settings, items=items, custom_fields=custom, **flags)}


def _preview(request, settings: CheckoutSettings, *, items, custom_fields, collect_billing_address=False,
             collect_shipping_address=False, allow_discount_codes=False, require_terms=False,
             is_business_purchase=False, allow_quantity=False) -> dict:
    currency = items[0]["price"].currency if items else ""
    fixed_total = sum((item["price"].unit_amount_minor or 0) * item["quantity"] for item in items
                      if item["price"].pricing_model == "fixed")
    return {
        "merchant": request.merchant, "settings": settings, "items": items, "currency": currency,
        "total_minor": fixed_total, "custom_fields": custom_fields, "allow_quantity": allow_quantity,
        "show_name": settings.name_field != "hidden", "name_required": settings.name_field == "required",
        "show_phone": settings.phone_field != "hidden", "phone_required": settings.phone_field == "required",
        "show_shipping": collect_shipping_address or settings.shipping_field != "hidden",
        "billing": "full" if collect_billing_address else settings.billing_address,
        "show_discount": allow_discount_codes and settings.discount_field != "hidden",
        "show_terms": require_terms or bool(settings.terms_text), "business": is_business_purchase,
    }


@dashboard_view(Permission.MANAGE_PRODUCTS)
def payment_link_preview(request):
    form = PaymentLinkForm(request.GET, tenant=request.tenant)
    return render(request, "checkout/dashboard/preview.html", {"preview_id": PREVIEW_ID,
                                                               **_link_preview(request, form)})


# --- appearance settings ------------------------------------------------------------------------------
def _sample_items(request) -> list[dict]:
    """The preview of the settings page shows the merchant's first one-time price (or none)."""
    price = one_time_prices(request.tenant).first()
    return [{"price": price, "product": price.product, "quantity": 1}] if price else []


@dashboard_view(Permission.ACCOUNT_SETTINGS)
def settings_checkout(request):
    current = services.checkout_settings_for(request.merchant)
    form = CheckoutSettingsForm(request.POST or None, initial=CheckoutSettingsForm.initial_from(current))
    if request.method == "POST" and form.is_valid():
        try:
            services.checkout_settings_update(tenant=request.tenant, actor=_actor(request),
                                              changes=form.cleaned_data, request_id=_request_id(request))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Checkout settings saved. Open checkouts show them at once.")
            return redirect("dashboard:settings_checkout")
    preview = _preview(request, current, items=_sample_items(request), custom_fields=current.custom_fields)
    return render(request, "checkout/dashboard/settings.html",
                  {"form": form, "preview_id": PREVIEW_ID, "preview": preview})


@dashboard_view(Permission.ACCOUNT_SETTINGS)
def settings_checkout_preview(request):
    """The preview with the values typed (nothing saved): an unsaved CheckoutSettings."""
    current = services.checkout_settings_for(request.merchant)
    form = CheckoutSettingsForm(request.GET)
    form.is_valid()
    draft = CheckoutSettings(merchant=request.merchant, **{
        name: getattr(current, name) for name in CheckoutSettingsForm.base_fields})
    for name, value in getattr(form, "cleaned_data", {}).items():
        setattr(draft, name, value)
    preview = _preview(request, draft, items=_sample_items(request), custom_fields=draft.custom_fields)
    return render(request, "checkout/dashboard/preview.html", {"preview_id": PREVIEW_ID, "preview": preview})


urlpatterns = [
    path("payment-links/", payment_links, name="payment_links"),
    path("payment-links/new/", payment_link_new, name="payment_link_new"),
    path("payment-links/new/preview/", payment_link_preview, name="payment_link_preview"),
    path("payment-links/<str:link_id>/", payment_link_detail, name="payment_link_detail"),
    path("payment-links/<str:link_id>/status/", payment_link_status, name="payment_link_status"),
    path("settings/checkout/", settings_checkout, name="settings_checkout"),
    path("settings/checkout/preview/", settings_checkout_preview, name="settings_checkout_preview"),
]
