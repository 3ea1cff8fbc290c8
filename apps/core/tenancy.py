"""Tenancy: every domain row belongs to one merchant and one mode (live or sandbox).

Every read for a request goes through `scoped()`; a row of another merchant or mode is simply not
there (404), never a 403 that would leak its existence.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from .errors import NotFound


@dataclass(frozen=True, slots=True)
class Tenant:
    """Who a request acts for: the merchant and the mode (from the API key or the dashboard switch)."""

    merchant: models.Model
    livemode: bool

    @property
    def mode(self) -> str:
        return "live" if self.livemode else "sandbox"


class TenantModel(models.Model):
    """Abstract base for every merchant-owned row."""

    merchant = models.ForeignKey("accounts.Merchant", on_delete=models.PROTECT, related_name="+")
    livemode = models.BooleanField(default=False)

    class Meta:
        abstract = True


def scoped(model_or_qs, *, tenant: Tenant):
    qs = model_or_qs._default_manager.all() if isinstance(model_or_qs, type) else model_or_qs
    return qs.filter(merchant=tenant.merchant, livemode=tenant.livemode)


def get_scoped(model_or_qs, *, tenant: Tenant, pk: str, label: str | None = None):
    """One row of the tenant's, or NotFound with the documented wording."""
    qs = scoped(model_or_qs, tenant=tenant)
    try:
        return qs.get(pk=pk)
    except (qs.model.DoesNotExist, ValueError):
        name = label or qs.model._meta.verbose_name
        raise NotFound(f"No such {name}: '{pk}'", param="id")
