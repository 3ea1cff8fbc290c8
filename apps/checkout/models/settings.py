"""Checkout appearance (page 018 "Customization"): one row per merchant, created with these defaults."""
from __future__ import annotations

from django.db import models

from apps.core.clock import now


class FieldMode(models.TextChoices):
    REQUIRED = "required", "Required"
    OPTIONAL = "optional", "Optional"
    HIDDEN = "hidden", "Hidden"


class CheckoutSettings(models.Model):
    class BillingAddress(models.TextChoices):
        FULL = "full", "Full address"
        COUNTRY = "country", "Country only"
        HIDDEN = "hidden", "Hidden"

    class DiscountField(models.TextChoices):
        ALWAYS = "always", "Show always"
        ON_CLICK = "on_click", "Show on click"
        HIDDEN = "hidden", "Hide"

    merchant = models.OneToOneField("accounts.Merchant", on_delete=models.CASCADE, related_name="checkout_settings")
    background_color = models.CharField(max_length=7, default="#F8FAFC")
    button_text = models.CharField(max_length=40, default="Pay")
    name_field = models.CharField(max_length=10, choices=FieldMode.choices, default=FieldMode.OPTIONAL)
    phone_field = models.CharField(max_length=10, choices=FieldMode.choices, default=FieldMode.HIDDEN)
    shipping_field = models.CharField(max_length=10, choices=FieldMode.choices, default=FieldMode.HIDDEN)
    billing_address = models.CharField(max_length=10, choices=BillingAddress.choices, default=BillingAddress.COUNTRY)
    discount_field = models.CharField(max_length=10, choices=DiscountField.choices, default=DiscountField.ON_CLICK)
    terms_text = models.CharField(max_length=300, blank=True, help_text="Shown beside the terms checkbox")
    terms_url = models.URLField(blank=True)
    privacy_url = models.URLField(blank=True)
    custom_fields = models.JSONField(default=list, blank=True,
                                     help_text="[{key, label, type: text|select, options, required}] on every checkout")
    success_message = models.CharField(max_length=500, blank=True)
    show_price_breakdown = models.BooleanField(default=True)
    updated_at = models.DateTimeField(default=now)

    class Meta:
        verbose_name_plural = "checkout settings"

    def __str__(self):
        return f"Checkout settings of {self.merchant_id}"
