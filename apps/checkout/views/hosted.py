"""The hosted checkout page (pages 011, 018, 026, 037; digest-product §7), public, no login.

`/pay/<pl_…>` is a payment link: each GET counts a view; a closed link is a 410 page in the merchant's
branding. The buyer's first interaction (the email) starts a session (`payment_link_start_session`) and
the page moves to `/checkout/<cs_…>` — views and sessions started are distinct analytics.
`/checkout/<cs_…>` is the same page for a session (API-created sessions land here). Every change is
posted (htmx) to `/update`, which saves it through services.checkout_page_update and returns the totals;
Pay posts the whole form with the gateway's single-use token (Collect.js, exactly as the hosted invoice
page: the card number never reaches us) to `/pay` → services.checkout_session_pay. A 3-D Secure challenge
goes to the gateway and back to `/3ds/<payment>`. Success goes to the session's success_url, else to
`/checkout/<cs_…>/success`. Expired sessions are a 410; a complete session never pays twice.
Every response carries the strict per-response CSP of apps.billing.views.public.
"""
from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from apps.billing import documents
from apps.billing.views.public import _collectjs_url, _origin, content_security_policy
from apps.core.actors import Actor
from apps.core.api.ratelimit import take_token
from apps.core.errors import DomainError, PaymentDeclined, ValidationFailed
from apps.core.money import Money
from apps.core.tenancy import Tenant

from .. import services
from ..models import CheckoutSession, PaymentLink
from ..services.page import hex_color, page_settings

MAX_ID_LENGTH = 40
PAY_ATTEMPT_BURST = 5
PAY_ATTEMPTS_PER_MINUTE = 0.2


# --- helpers -------------------------------------------------------------------------------------------
def _link_or_404(link_id: str) -> PaymentLink:
    if not link_id.startswith("pl_") or len(link_id) > MAX_ID_LENGTH:
        raise Http404("No such payment link")
    link = PaymentLink.objects.select_related("merchant").filter(pk=link_id).first()
    if link is None:
        raise Http404("No such payment link")
    return link


def _session_or_404(session_id: str) -> CheckoutSession:
    if not session_id.startswith("cs_") or len(session_id) > MAX_ID_LENGTH:
        raise Http404("No such checkout")
    session = CheckoutSession.objects.select_related("merchant", "payment_link", "customer", "discount") \
        .filter(pk=session_id).first()
    if session is None:
        raise Http404("No such checkout")
    return session


def _actor(email: str) -> Actor:
    return Actor("customer", "", email or "checkout buyer")


def _gateway(tenant: Tenant):
    from apps.payments.services import payments as payment_services

    try:
        return payment_services.gateway_account_for(tenant)
    except DomainError:
        return None


def _is_open(session: CheckoutSession) -> bool:
    from apps.core.clock import now

    return session.status == CheckoutSession.Status.OPEN and session.expires_at > now()


def _fmt(minor, currency) -> str:
    return Money(int(minor or 0), currency).format()


def _items(link: PaymentLink | None, session: CheckoutSession | None) -> list[dict]:
    """What the page lists: the session's items, else the link's (one query with prices and products)."""
    from apps.catalog.models import PricingModel

    source = session.items if session is not None else link.items
    rows = []
    for item in source.select_related("price__product").order_by("position", "id"):
        price, product = item.price, item.price.product
        custom = getattr(item, "custom_amount_minor", None)
        unit = custom if custom is not None else (price.unit_amount_minor or 0)
        pwyw = price.pricing_model == PricingModel.PAY_WHAT_YOU_WANT
        adjustable = getattr(item, "adjustable_quantity", link.allow_quantity if link else False)
        rows.append({
            "id": item.pk, "name": product.name, "description": product.description,
            "image": next((i for i in (product.images or []) if isinstance(i, str) and
                           i.startswith(("https://", "/", "data:image/"))), ""),
            "features": [f for f in (product.features or []) if isinstance(f, str)][:10],
            "quantity": item.quantity, "min": item.min_quantity, "max": item.max_quantity,
            "adjustable": adjustable, "pwyw": pwyw,
            "amount_input": Money(unit, price.currency).to_decimal() if pwyw and custom is not None else "",
            "minimum": _fmt(max(price.minimum_amount_minor or 0, 1), price.currency) if pwyw else "",
            "unit": _fmt(unit, price.currency), "amount": _fmt(unit * item.quantity, price.currency),
        })
    return rows


def _page(request, *, merchant, livemode: bool, template: str, context: dict, status: int = 200,
          payable: bool = False):
    """Renders a checkout page with its own nonce, the strict CSP and no caching."""
    nonce = secrets.token_urlsafe(16)
    gateway = _gateway(Tenant(merchant, livemode)) if payable else None
    settings = page_settings(merchant)
    context = {"nonce": nonce, "brand": documents.branding(merchant), "gateway": gateway,
               "collectjs_url": _collectjs_url(gateway) if gateway else "", "payable": payable and bool(gateway),
               "background": hex_color(settings.background_color, "#F8FAFC"), **context}
    response = render(request, template, context, status=status)
    response["Content-Security-Policy"] = content_security_policy(
        nonce=nonce, gateway_origin=_origin(gateway.api_url) if gateway else "")
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "no-store"
    return response


def _closed(request, *, merchant, livemode: bool, title: str, message: str, back: str = ""):
    return _page(request, merchant=merchant, livemode=livemode, template="checkout/closed.html", status=410,
                 context={"title": title, "message": message, "back": back})


def _totals(session: CheckoutSession) -> dict:
    c = session.currency
    return {"subtotal": _fmt(session.subtotal_minor, c), "discount": _fmt(session.discount_minor, c)
            if session.discount_minor else "", "tax": _fmt(session.tax_minor, c) if session.tax_minor else "",
            "total": _fmt(session.total_minor, c), "code": session.discount_code}


def _session_page(request, session: CheckoutSession, *, status: int = 200, error: str = "",
                  errors: dict | None = None, form: dict | None = None):
    if session.status == CheckoutSession.Status.COMPLETE:
        return redirect("checkout_success", session.pk)
    if not _is_open(session):
        return _closed(request, merchant=session.merchant, livemode=session.livemode,
                       title="This checkout has expired",
                       message="This checkout is no longer available. Nothing was charged.",
                       back=reverse("checkout_link", args=[session.payment_link_id])
                       if session.payment_link_id else "")
    config = services.checkout_page_config(session)
    details = session.customer_details or {}
    values = {"email": session.customer_email, "name": details.get("name", ""), "phone": details.get("phone", ""),
              "company": details.get("company", ""), "tax_id": (details.get("tax_id") or {}).get("value", ""),
              "code": session.discount_code, "terms": bool(session.terms_accepted_at)}
    for prefix, key in (("address", "address"), ("shipping", "shipping")):
        for part, value in (details.get(key) or {}).items():
            values[f"{prefix}_{part}"] = value
    for key, value in (session.custom_field_values or {}).items():
        values[f"custom_{key}"] = value
    if form:
        values.update({k: v for k, v in form.items() if k != "payment_token"})
    custom_fields = [{**spec, "name": f"custom_{spec.get('key')}", "value": values.get(f"custom_{spec.get('key')}", ""),
                      "error": (errors or {}).get(f"custom_{spec.get('key')}", [""])[0]}
                     for spec in config.custom_fields if isinstance(spec, dict)]
    context = {"session": session, "link": session.payment_link, "config": config, "values": values,
               "custom_fields": custom_fields,
               "items": _items(session.payment_link, session), "totals": _totals(session), "error": error,
               "errors": errors or {}, "cancel_url": session.cancel_url or (
                   reverse("checkout_link", args=[session.payment_link_id]) if session.payment_link_id else ""),
               "pending_action": _pending_action(request, session)}
    return _page(request, merchant=session.merchant, livemode=session.livemode, template="checkout/page.html",
                 context=context, status=status, payable=True)


def _challenge_url(request, session: CheckoutSession, payment) -> str:
    return_url = request.build_absolute_uri(reverse("checkout_3ds", args=[session.pk, payment.pk]))
    separator = "&" if "?" in payment.action_url else "?"
    return f"{payment.action_url}{separator}{urlencode({'return_url': return_url})}"


def _pending_action(request, session: CheckoutSession) -> str:
    from apps.payments.models import Payment

    if not session.invoice_id:
        return ""
    payment = Payment.objects.filter(invoice_id=session.invoice_id, status=Payment.Status.REQUIRES_ACTION) \
        .exclude(action_url="").order_by("-created_at").first()
    return _challenge_url(request, session, payment) if payment else ""


def _done(session: CheckoutSession):
    url = services.success_redirect_url(session)
    return redirect(url) if url else redirect("checkout_success", session.pk)


def _decline_message(exc: PaymentDeclined) -> str:
    from apps.payments.gateways.declines import DECLINE_CODES

    known = DECLINE_CODES.get(exc.decline_code)
    return known.message if known else (exc.message or "Your card was declined. Please try a different card.")


def _link_choices(link: PaymentLink, data) -> tuple[dict[str, int], dict[str, int]]:
    """Quantities and pay-what-you-want amounts chosen on the link page, by link item id. A
    pay-what-you-want item starts at its minimum when no (valid) amount was typed yet."""
    from apps.catalog.models import PricingModel

    quantities, amounts = {}, {}
    for item in link.items.select_related("price"):
        raw = str(data.get(f"qty_{item.pk}", "")).strip()
        if link.allow_quantity and raw.isdigit():
            quantities[item.pk] = int(raw)
        if item.price.pricing_model == PricingModel.PAY_WHAT_YOU_WANT:
            minimum = max(item.price.minimum_amount_minor or 0, 1)
            try:
                amount = Money.parse(str(data.get(f"amount_{item.pk}", "")), link.currency).amount_minor
            except ValueError:
                amount = 0
            amounts[item.pk] = amount if minimum <= amount <= 100_000_000 else minimum
    return quantities, amounts


# --- views ---------------------------------------------------------------------------------------------
@require_GET
def link_page(request, link_id: str):
    link = _link_or_404(link_id)
    services.payment_link_record_view(link=link)
    reason = services.payment_link_closed_reason(link)
    if reason:
        return _closed(request, merchant=link.merchant, livemode=link.livemode,
                       title="This link is no longer available", message=reason)
    config = services.checkout_page_config(CheckoutSession(merchant=link.merchant, payment_link=link,
                                                           allow_promotion_codes=link.allow_discount_codes))
    items = _items(link, None)
    prefill = {key: request.GET.get(key, "")[:200] for key in ("email", "name", "discount")}
    context = {"link": link, "config": config, "items": items, "prefill": prefill}
    return _page(request, merchant=link.merchant, livemode=link.livemode, template="checkout/link.html",
                 context=context)


@require_POST
def link_start(request, link_id: str):
    """The buyer's first interaction: a session for them, then the page works on /checkout/<cs_…>."""
    link = _link_or_404(link_id)
    email = request.POST.get("email", "").strip()[:254]
    quantities, amounts = _link_choices(link, request.POST)
    try:
        session = services.payment_link_start_session(link=link, actor=_actor(email), quantities=quantities,
                                                      custom_amounts=amounts,
                                                      request_id=getattr(request, "request_id", ""))
    except services.SessionClosed as exc:
        return _closed(request, merchant=link.merchant, livemode=link.livemode,
                       title="This link is no longer available", message=exc.message)
    except ValidationFailed as exc:
        return _page(request, merchant=link.merchant, livemode=link.livemode, template="checkout/link.html",
                     status=422, context={"link": link, "items": _items(link, None), "error": exc.message,
                                          "prefill": {"email": email, "name": request.POST.get("name", "")[:200]},
                                          "config": services.checkout_page_config(CheckoutSession(
                                              merchant=link.merchant, payment_link=link))})
    data = request.POST.dict()
    if request.POST.get("discount"):
        data["code"] = request.POST["discount"]
    try:
        services.checkout_page_update(session=session, actor=_actor(email), data=data)
    except ValidationFailed:
        pass  # the session page shows what is missing
    return redirect("checkout_session", session.pk)


@require_GET
def session_page(request, session_id: str):
    session = _session_or_404(session_id)
    if _is_open(session) and session.last_step == CheckoutSession.Step.CREATED:
        services.checkout_session_touch(session=session, step="viewed")
    return _session_page(request, session)


@require_POST
def session_update(request, session_id: str):
    """htmx: saves the form and returns the totals (or the field errors) for the page to swap in."""
    session = _session_or_404(session_id)
    errors: dict = {}
    try:
        session = services.checkout_page_update(session=session, actor=_actor(session.customer_email),
                                                data=request.POST, request_id=getattr(request, "request_id", ""))
    except services.SessionClosed:
        response = HttpResponse(status=410)
        response["HX-Redirect"] = reverse("checkout_session", args=[session.pk])
        return response
    except ValidationFailed as exc:
        errors = exc.fields
        session = _session_or_404(session_id)
    return _page(request, merchant=session.merchant, livemode=session.livemode,
                 template="checkout/_totals.html",
                 context={"totals": _totals(session), "errors": errors, "oob": True, "session": session},
                 status=200)  # htmx swaps 2xx only: the errors are in the fragment


@require_POST
def session_pay(request, session_id: str):
    session = _session_or_404(session_id)
    if session.status == CheckoutSession.Status.COMPLETE:  # a resubmit after success: show success again
        return _done(session)
    form = request.POST.dict()
    actor = _actor(session.customer_email or form.get("email", ""))
    try:
        session = services.checkout_page_update(session=session, actor=actor, data=request.POST, final=True)
    except services.SessionClosed:
        return _session_page(request, _session_or_404(session_id))
    except ValidationFailed as exc:
        return _session_page(request, _session_or_404(session_id), status=422, errors=exc.fields, form=form,
                             error="Please check the highlighted fields.")
    payment_token = request.POST.get("payment_token", "").strip()
    if session.total_minor > 0 and (not payment_token or len(payment_token) > 200):
        return _session_page(request, session, status=422, error="Enter your card details to pay.", form=form)
    allowed, _left = take_token(f"checkout-pay:{session.pk}", per_minute=PAY_ATTEMPTS_PER_MINUTE,
                                burst=PAY_ATTEMPT_BURST)
    if not allowed:
        return _session_page(request, session, status=429, form=form,
                             error="Too many payment attempts. Please wait a few minutes and try again.")
    try:
        outcome = services.checkout_session_pay(session=session, actor=actor, payment_token=payment_token,
                                                request_id=getattr(request, "request_id", ""))
    except PaymentDeclined as exc:
        return _session_page(request, _session_or_404(session_id), status=402, error=_decline_message(exc),
                             form=form)
    except DomainError as exc:
        return _session_page(request, _session_or_404(session_id), status=exc.status if exc.status >= 400 else 400,
                             error=exc.message, form=form)
    from apps.payments.models import Payment

    payment = outcome.payment
    if outcome.session.status == CheckoutSession.Status.COMPLETE:
        return _done(_session_or_404(session_id))
    if payment is not None and payment.status == Payment.Status.REQUIRES_ACTION and payment.action_url:
        return redirect(_challenge_url(request, session, payment))
    return _session_page(request, _session_or_404(session_id), status=202,
                         error="Your card issuer is still confirming the payment. Refresh this page in a moment.")


@require_GET
def session_3ds_return(request, session_id: str, payment_id: str):
    """Back from the 3-D Secure challenge: the gateway's record decides; the invoice's payment completes."""
    from apps.billing import services as billing
    from apps.payments.models import Payment
    from apps.payments.services import payments as payment_services

    session = _session_or_404(session_id)
    payment = Payment.objects.filter(pk=payment_id[:MAX_ID_LENGTH], invoice_id=session.invoice_id).first() \
        if session.invoice_id else None
    if payment is None:
        raise Http404("No such payment")
    actor = _actor(session.customer_email)
    try:
        if payment.status == Payment.Status.REQUIRES_ACTION:
            payment = payment_services.payment_complete_action(payment=payment, actor=actor)
        if payment.status == Payment.Status.SUCCEEDED:
            billing.invoice_apply_card_payment(payment=payment, actor=actor)
            from apps.billing.models import Invoice

            services.checkout_session_complete_paid(invoice=Invoice.objects.get(pk=session.invoice_id), actor=actor)
            return _done(_session_or_404(session_id))
    except DomainError as exc:
        return _session_page(request, _session_or_404(session_id), status=exc.status if exc.status >= 400 else 400,
                             error=exc.message)
    if payment.status == Payment.Status.FAILED:
        return _session_page(request, _session_or_404(session_id), status=402,
                             error=payment.failure_message or "The card issuer did not authenticate the payment.")
    return _session_page(request, _session_or_404(session_id), status=202,
                         error="The card issuer has not confirmed the authentication yet.")


@require_GET
def session_success(request, session_id: str):
    session = _session_or_404(session_id)
    if session.status != CheckoutSession.Status.COMPLETE:
        return redirect("checkout_session", session.pk)
    from apps.billing.models import Order

    payment = session.payment
    config = services.checkout_page_config(session)
    order = Order.objects.filter(invoice_id=session.invoice_id).first() if session.invoice_id else None
    context = {"session": session, "items": _items(session.payment_link, session), "totals": _totals(session),
               "amount": _fmt(session.total_minor, session.currency), "order": order,
               "card": f"{(payment.card_brand or 'Card').title()} •••• {payment.card_last4}"
               if payment is not None and payment.card_last4 else "",
               "email": session.customer_email or (session.customer.email if session.customer else ""),
               "message": config.success_message}
    return _page(request, merchant=session.merchant, livemode=session.livemode, template="checkout/success.html",
                 context=context)


@require_GET
def session_cancel(request, session_id: str):
    session = _session_or_404(session_id)
    if session.cancel_url:
        return redirect(session.cancel_url)
    if session.payment_link_id:
        return redirect("checkout_link", session.payment_link_id)
    return _closed(request, merchant=session.merchant, livemode=session.livemode, title="Checkout cancelled",
                   message="You left the checkout. Nothing was charged.")


urlpatterns = [
    path("pay/<str:link_id>", link_page, name="checkout_link"),
    path("pay/<str:link_id>/start", link_start, name="checkout_link_start"),
    path("checkout/<str:session_id>", session_page, name="checkout_session"),
    path("checkout/<str:session_id>/update", session_update, name="checkout_session_update"),
    path("checkout/<str:session_id>/pay", session_pay, name="checkout_session_pay"),
    path("checkout/<str:session_id>/3ds/<str:payment_id>", session_3ds_return, name="checkout_3ds"),
    path("checkout/<str:session_id>/success", session_success, name="checkout_success"),
    path("checkout/<str:session_id>/cancel", session_cancel, name="checkout_cancel"),
]
