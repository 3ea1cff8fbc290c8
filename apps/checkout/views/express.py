"""Express checkout on the hosted checkout page (page 018 "Returning customers", digest-product §7.3).

The page includes `checkout/express/entry.html` after its email field. Its script posts the email to
`/express/lookup` and swaps the returned fragment in: nothing (a stranger, or no saved cards), the offer
("Express checkout" / "Pay manually"), or straight away the saved cards when this browser is trusted.
`/express/code` emails a code (the same answer for anyone), `/express/verify` checks it, trusts the browser
(an HttpOnly, Secure, SameSite=Lax cookie per customer; only its hash is stored) and shows the cards.
`/express/pay` is the page's own form posted there (its fields are saved and checked as for a new card) with
the chosen card and a CVV-only Collect.js token; the trusted-device cookie is what authorises charging that
customer's card. Fragments carry the page's strict CSP.
"""
from __future__ import annotations

import secrets

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from apps.billing.views.public import content_security_policy
from apps.core.api.ratelimit import take_token
from apps.core.errors import BusinessRuleViolation, DomainError, PaymentDeclined, ValidationFailed

from .. import services
from ..models import CheckoutSession
from . import hosted

LOOKUP_BURST = 10
LOOKUPS_PER_MINUTE = 4


def _fragment(request, session: CheckoutSession, state: str, *, status: int = 200, **context):
    """One state of the express box (no script or inline style inside: the page's CSP stays strict)."""
    context = {"session": session, "state": state, **context}
    response = render(request, "checkout/express/_state.html", context, status=status)
    response["Content-Security-Policy"] = content_security_policy(nonce=secrets.token_urlsafe(16))
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _cards(request, session: CheckoutSession, customer, *, error: str = "", status: int = 200):
    cards = [{"id": card.pk, "brand": (card.brand or "Card").title(), "last4": card.last4,
              "expiry": f"{card.exp_month:02d}/{card.exp_year % 100:02d}" if card.exp_month and card.exp_year else "",
              "default": card.is_default} for card in services.express_saved_cards(customer=customer)]
    return _fragment(request, session, "cards", cards=cards, error=error, status=status)


def _open_session(session_id: str) -> CheckoutSession | None:
    session = hosted._session_or_404(session_id)
    return session if hosted._is_open(session) else None


def _closed_fragment(request, session_id: str):
    response = HttpResponse(status=410)
    response["HX-Redirect"] = f"/checkout/{session_id}"
    return response


def _email(request) -> str:
    return request.POST.get("email", "").strip()[:254]


@require_POST
def express_lookup(request, session_id: str):
    session = _open_session(session_id)
    if session is None:
        return _closed_fragment(request, session_id)
    allowed, _left = take_token(f"checkout-express-lookup:{session.pk}", per_minute=LOOKUPS_PER_MINUTE,
                                burst=LOOKUP_BURST)
    if not allowed:
        return _fragment(request, session, "empty", status=429)
    email = _email(request)
    customer = services.express_customer_for(session=session, email=email)
    if customer is None:
        return _fragment(request, session, "empty")
    if services.express_device_is_trusted(customer=customer, cookies=request.COOKIES):
        return _cards(request, session, customer)
    return _fragment(request, session, "offer", email=email)


@require_POST
def express_code(request, session_id: str):
    session = _open_session(session_id)
    if session is None:
        return _closed_fragment(request, session_id)
    email = _email(request)
    try:
        result = services.express_code_request(session=session, email=email)
    except BusinessRuleViolation as exc:
        return _fragment(request, session, "offer", email=email, error=exc.message, status=429)
    return _fragment(request, session, "code", email=email, message=result.message)


@require_POST
def express_verify(request, session_id: str):
    session = _open_session(session_id)
    if session is None:
        return _closed_fragment(request, session_id)
    email = _email(request)
    try:
        customer = services.express_code_verify(session=session, email=email, code=request.POST.get("code", ""))
    except ValidationFailed as exc:
        message = (exc.fields or {}).get("code", [exc.message])[0]
        return _fragment(request, session, "code", email=email, error=message, status=422)
    except BusinessRuleViolation as exc:
        return _fragment(request, session, "code", email=email, error=exc.message, expired=True, status=422)
    response = _cards(request, session, customer)
    token, max_age = services.express_trust_device(customer=customer)
    response.set_cookie(services.trust_cookie_name(customer), token, max_age=max_age, secure=True, httponly=True,
                        samesite="Lax", path="/")
    return response


@require_POST
def express_pay(request, session_id: str):
    from apps.payments.models import Payment, PaymentMethod

    session = hosted._session_or_404(session_id)
    if session.status == CheckoutSession.Status.COMPLETE:
        return hosted._done(session)
    method = PaymentMethod.objects.select_related("customer").filter(
        pk=request.POST.get("express_payment_method", "")[:40], merchant_id=session.merchant_id,
        livemode=session.livemode).first()
    if method is None or not services.express_device_is_trusted(customer=method.customer, cookies=request.COOKIES):
        return hosted._session_page(request, session, status=403,
                                    error="Verify your email again to pay with a saved card, or pay manually.")
    token = request.POST.get("payment_token", "").strip()
    if not token:
        return hosted._session_page(request, session, status=422,
                                    error="Re-enter your card's security code (CVV) to pay with a saved card.")
    allowed, _left = take_token(f"checkout-pay:{session.pk}", per_minute=hosted.PAY_ATTEMPTS_PER_MINUTE,
                                burst=hosted.PAY_ATTEMPT_BURST)
    if not allowed:
        return hosted._session_page(request, session, status=429,
                                    error="Too many payment attempts. Please wait a few minutes and try again.")
    actor = hosted._actor(method.customer.email)
    form = {k: v for k, v in request.POST.dict().items() if k != "payment_token"}
    try:  # the page's other fields (name, address, terms, custom fields) are required as for a new card
        session = services.checkout_page_update(session=session, actor=actor, data=request.POST, final=True)
    except services.SessionClosed:
        return hosted._session_page(request, hosted._session_or_404(session_id))
    except ValidationFailed as exc:
        return hosted._session_page(request, hosted._session_or_404(session_id), status=422, errors=exc.fields,
                                    form=form, error="Please check the highlighted fields.")
    try:
        outcome = services.express_pay(session=session, customer=method.customer, payment_method_id=method.pk,
                                       cvv_token=token, actor=actor, request_id=getattr(request, "request_id", ""))
    except PaymentDeclined as exc:
        return hosted._session_page(request, hosted._session_or_404(session_id), status=402,
                                    error=hosted._decline_message(exc))
    except DomainError as exc:
        return hosted._session_page(request, hosted._session_or_404(session_id),
                                    status=exc.status if exc.status >= 400 else 400, error=exc.message)
    payment = outcome.payment
    if outcome.session.status == CheckoutSession.Status.COMPLETE:
        return hosted._done(hosted._session_or_404(session_id))
    if payment is not None and payment.status == Payment.Status.REQUIRES_ACTION and payment.action_url:
        return redirect(hosted._challenge_url(request, session, payment))
    return hosted._session_page(request, hosted._session_or_404(session_id), status=202,
                                error="Your card issuer is still confirming the payment. Refresh this page in a moment.")


urlpatterns = [
    path("checkout/<str:session_id>/express/lookup", express_lookup, name="checkout_express_lookup"),
    path("checkout/<str:session_id>/express/code", express_code, name="checkout_express_code"),
    path("checkout/<str:session_id>/express/verify", express_verify, name="checkout_express_verify"),
    path("checkout/<str:session_id>/express/pay", express_pay, name="checkout_express_pay"),
]
