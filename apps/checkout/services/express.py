"""Express checkout for returning customers (page 018, digest-product §7.3).

A buyer whose email belongs to a customer of the merchant with saved cards may pay with one of them:
- on a trusted browser (a cookie per merchant and customer; only the token's hash is kept, 30 days) the
  cards show at once;
- otherwise a 6-digit code is emailed (only its keyed hash is kept, valid 10 minutes, 3 attempts per code,
  3 codes per customer per 15 minutes); verifying it trusts the browser.
Paying always takes a freshly entered CVV (a CVV-only gateway token) and goes through the completion
service, which charges once. Asking for a code gives the same answer whether or not the email is a
customer's, and nothing is sent to a stranger.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, NotFound, ValidationFailed

from ..models import CheckoutSession, CheckoutVerificationCode, TrustedDevice
from .sessions import PayOutcome, checkout_session_pay

log = logging.getLogger(__name__)

CODE_TTL = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 3
CODES_PER_WINDOW = 3
CODE_WINDOW = timedelta(minutes=15)
TRUST_TTL = timedelta(days=30)
TRUST_COOKIE_PREFIX = "rk_trusted_"
CODE_SENT_MESSAGE = "If this email has saved cards with us, we sent it a 6-digit code. It is valid for 10 minutes."


@dataclass(frozen=True)
class CodeRequest:
    """What the buyer is told (the same either way) and, for tests and logs only, whether a code went out."""
    message: str
    sent: bool


def _hash(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def _code_hash(code_id: str, code: str) -> str:
    """Keyed by the server secret and the code's id: a 6-digit code cannot be recovered from a leaked table."""
    return _hash(f"checkout-code:{code_id}:{code}")


def trust_cookie_name(customer) -> str:
    """One cookie per customer (customer ids belong to one merchant, so this is per merchant too)."""
    return f"{TRUST_COOKIE_PREFIX}{customer.pk}"


def _saved_cards_qs(customer):
    from apps.payments.models import PaymentMethod

    return PaymentMethod.objects.filter(customer=customer, merchant_id=customer.merchant_id,
                                        livemode=customer.livemode, status=PaymentMethod.Status.ACTIVE)


def express_saved_cards(*, customer) -> list:
    """The customer's active saved cards, default first."""
    return list(_saved_cards_qs(customer).order_by("-is_default", "-created_at", "-id"))


def express_customer_for(*, session: CheckoutSession, email: str):
    """The merchant's customer with this email who has saved cards, else None."""
    from apps.customers.models import Customer

    email = (email or "").strip()
    if not email or "@" not in email or len(email) > 254:
        return None
    candidates = Customer.objects.filter(merchant_id=session.merchant_id, livemode=session.livemode,
                                         deleted_at__isnull=True, email__iexact=email).order_by("created_at", "id")
    for customer in candidates:
        if _saved_cards_qs(customer).exists():
            return customer
    return None


# --- trusted devices ---------------------------------------------------------------------------------------
def express_trusted_customer(*, session: CheckoutSession, email: str, cookies) -> object | None:
    """The customer with saved cards for this email when this browser holds their valid trust cookie."""
    customer = express_customer_for(session=session, email=email)
    if customer is None:
        return None
    return customer if express_device_is_trusted(customer=customer, cookies=cookies) else None


def express_device_is_trusted(*, customer, cookies) -> bool:
    token = cookies.get(trust_cookie_name(customer), "")
    if not token or len(token) > 128:
        return False
    moment = now()
    updated = TrustedDevice.objects.filter(customer=customer, merchant_id=customer.merchant_id,
                                           livemode=customer.livemode, token_hash=_hash(f"trusted:{token}"),
                                           expires_at__gt=moment).update(last_used_at=moment)
    return updated == 1


def express_trust_device(*, customer) -> tuple[str, int]:
    """Records a new trusted browser; returns the cookie value (only its hash is stored) and its max-age."""
    token = secrets.token_urlsafe(32)
    TrustedDevice.objects.create(merchant_id=customer.merchant_id, livemode=customer.livemode, customer=customer,
                                 token_hash=_hash(f"trusted:{token}"), expires_at=now() + TRUST_TTL)
    return token, int(TRUST_TTL.total_seconds())


# --- codes -------------------------------------------------------------------------------------------------
def _send_code_email(*, session: CheckoutSession, customer, email: str, code: str) -> None:
    merchant = session.merchant
    context = {"merchant_name": merchant.public_name, "code": code, "minutes": int(CODE_TTL.total_seconds() // 60),
               "customer": customer}
    subject = f"{merchant.public_name}: your checkout code is {code}"
    text = render_to_string("checkout/email/express_code.txt", context)
    html = render_to_string("checkout/email/express_code.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [email])
    message.attach_alternative(html, "text/html")
    message.send()


def express_code_request(*, session: CheckoutSession, email: str) -> CodeRequest:
    """Emails a 6-digit code to a returning customer. Strangers get the same message and no email. Raises
    BusinessRuleViolation (code_rate_limited) once 3 codes went to this customer in 15 minutes."""
    from apps.customers.models import Customer

    if session.status != CheckoutSession.Status.OPEN or session.expires_at <= now():
        raise BusinessRuleViolation("This checkout is no longer open.", code="session_closed")
    customer = express_customer_for(session=session, email=email)
    if customer is None:
        return CodeRequest(message=CODE_SENT_MESSAGE, sent=False)
    code = f"{secrets.randbelow(1_000_000):06d}"
    with transaction.atomic():
        # The customer row lock makes concurrent requests count each other's codes.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        moment = now()
        recent = CheckoutVerificationCode.objects.filter(customer=customer,
                                                         created_at__gt=moment - CODE_WINDOW).count()
        if recent >= CODES_PER_WINDOW:
            raise BusinessRuleViolation(
                "Too many codes were requested for this email. Wait 15 minutes, or pay manually with a card.",
                code="code_rate_limited")
        row = CheckoutVerificationCode(merchant_id=session.merchant_id, livemode=session.livemode, session=session,
                                       customer=customer, expires_at=moment + CODE_TTL, created_at=moment)
        row.code_hash = _code_hash(row.pk, code)  # the prefixed id exists before the insert
        row.save()
        transaction.on_commit(lambda: _send_code_email(session=session, customer=customer,
                                                       email=customer.email or email, code=code))
    return CodeRequest(message=CODE_SENT_MESSAGE, sent=True)


def express_code_verify(*, session: CheckoutSession, email: str, code: str):
    """Checks the latest code for this session and email (constant-time). Returns the customer; raises
    ValidationFailed (wrong code, attempts left), BusinessRuleViolation (no live code, attempts used up)."""
    code = (code or "").strip().replace(" ", "")
    customer = express_customer_for(session=session, email=email)
    if customer is None:
        raise BusinessRuleViolation("That code is not valid. Request a new code.", code="code_invalid")
    if not (len(code) == 6 and code.isdigit()):
        raise ValidationFailed("code: enter the 6-digit code", fields={"code": ["enter the 6-digit code"]})
    with transaction.atomic():
        row = CheckoutVerificationCode.objects.select_for_update().filter(
            session=session, customer=customer, verified_at__isnull=True).order_by("-created_at").first()
        moment = now()
        if row is None or row.expires_at <= moment:
            raise BusinessRuleViolation("That code has expired. Request a new code.", code="code_expired")
        if row.attempts >= CODE_MAX_ATTEMPTS:
            raise BusinessRuleViolation("Too many wrong attempts for this code. Request a new code.",
                                        code="code_attempts_exceeded")
        matches = hmac.compare_digest(row.code_hash, _code_hash(row.pk, code))
        if matches:
            CheckoutVerificationCode.objects.filter(pk=row.pk).update(verified_at=moment, attempts=row.attempts + 1)
        else:
            CheckoutVerificationCode.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
    if not matches:  # the attempt is counted (committed above) before the error
        left = CODE_MAX_ATTEMPTS - row.attempts - 1
        if left <= 0:
            raise BusinessRuleViolation("Too many wrong attempts for this code. Request a new code.",
                                        code="code_attempts_exceeded")
        message = f"That code is not right. {left} attempt{'s' if left != 1 else ''} left."
        raise ValidationFailed(f"code: {message}", fields={"code": [message]})
    return customer


# --- paying ------------------------------------------------------------------------------------------------
def express_pay(*, session: CheckoutSession, customer, payment_method_id: str, cvv_token: str, actor: Actor,
                request_id: str = "") -> PayOutcome:
    """Charges one of a verified customer's saved cards with a freshly entered CVV (a CVV-only token),
    through the completion service: the session completes once however often this is retried."""
    if not cvv_token or len(cvv_token) > 200:
        raise ValidationFailed("cvv: re-enter the card's security code", fields={"cvv": ["is required"]})
    method = _saved_cards_qs(customer).filter(pk=payment_method_id or "").first()
    if method is None:
        raise NotFound("No such saved card.", param="payment_method")
    CheckoutSession.objects.filter(pk=session.pk, status=CheckoutSession.Status.OPEN, customer__isnull=True).update(
        customer=customer, customer_email=customer.email)
    session.refresh_from_db()
    if session.customer_id != customer.pk:
        raise BusinessRuleViolation("This checkout belongs to another customer.", code="customer_mismatch")
    return checkout_session_pay(session=session, actor=actor, payment_method=method, payment_token=cvv_token,
                                request_id=request_id)
