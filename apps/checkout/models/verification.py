"""Returning customers (page 018 §7.3): a 6-digit code by email unlocks saved cards (3 attempts per code,
3 codes per 15 minutes), and a verified browser is trusted for 30 days (cookie scoped per merchant and
customer; only its hash is stored)."""
from __future__ import annotations

from django.db import models

from apps.core.clock import now
from apps.core.ids import PrefixedIdField
from apps.core.tenancy import TenantModel


class CheckoutVerificationCode(TenantModel):
    id = PrefixedIdField(prefix="cvc")
    session = models.ForeignKey("checkout.CheckoutSession", on_delete=models.CASCADE, related_name="codes")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    expires_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "created_at"], name="checkout_code_customer")]


class TrustedDevice(TenantModel):
    id = PrefixedIdField(prefix="tdv")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)
