"""Checkout data (pages 011, 018): the merchant's checkout appearance, payment links, checkout sessions,
and the returning-customer verification (email codes, trusted devices)."""
from .links import PaymentLink, PaymentLinkItem
from .sessions import CheckoutSession, CheckoutSessionItem
from .settings import CheckoutSettings
from .verification import CheckoutVerificationCode, TrustedDevice

__all__ = ["CheckoutSession", "CheckoutSessionItem", "CheckoutSettings", "CheckoutVerificationCode", "PaymentLink",
           "PaymentLinkItem", "TrustedDevice"]
