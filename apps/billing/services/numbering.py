"""Gapless document numbers: INV-2026-00042, CN-2026-00007.

`next_number` must run inside the transaction that issues the document. It locks the sequence row
(creating it on first use), so concurrent finalizations queue on that row and each gets the next
value; a transaction that rolls back releases its number with it, so no number is ever skipped. Live and sandbox
documents have separate sequences (a sandbox invoice never uses up a live number).
"""
from __future__ import annotations

from django.db import IntegrityError, transaction

from apps.core.clock import now
from apps.core.tenancy import Tenant

from ..models import InvoiceSettings, NumberSequence


def invoice_settings_for(merchant) -> InvoiceSettings:
    settings, _ = InvoiceSettings.objects.get_or_create(merchant=merchant)
    return settings


def format_number(*, prefix: str, year: int | None, value: int, padding: int) -> str:
    digits = str(value).zfill(max(padding, 1))
    return f"{prefix}-{year}-{digits}" if year is not None else f"{prefix}-{digits}"


def _locked_sequence(tenant: Tenant, kind: str, period: str) -> NumberSequence:
    lookup = {"merchant": tenant.merchant, "livemode": tenant.livemode, "kind": kind, "period": period}
    sequence = NumberSequence.objects.select_for_update().filter(**lookup).first()
    if sequence is not None:
        return sequence
    try:
        with transaction.atomic():  # savepoint: a concurrent first use wins the insert, we lock its row
            NumberSequence.objects.create(**lookup)
    except IntegrityError:
        pass
    return NumberSequence.objects.select_for_update().get(**lookup)


def next_number(*, tenant: Tenant, kind: str) -> str:
    """The next number of `kind` ('invoice' or 'credit_note') in the merchant's configured format."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number must run inside the transaction that issues the document")
    settings = invoice_settings_for(tenant.merchant)
    prefix = settings.number_prefix if kind == NumberSequence.Kind.INVOICE else settings.credit_note_prefix
    year = now().year if settings.number_includes_year else None
    sequence = _locked_sequence(tenant, kind, str(year) if year else "")
    value = sequence.next_value
    NumberSequence.objects.filter(pk=sequence.pk).update(next_value=value + 1)
    return format_number(prefix=prefix, year=year, value=value, padding=settings.number_padding)
