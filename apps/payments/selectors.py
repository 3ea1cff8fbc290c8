"""Payments reads: always tenant-scoped; a row of another merchant or mode is a 404."""
from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from apps.core.errors import NotFound
from apps.core.ids import looks_like_id
from apps.core.tenancy import Tenant, get_scoped, scoped

from .models import FeeLine, Payment, PaymentMethod, Refund, Transaction, Void


def _get(model, prefix: str, label: str, *, tenant: Tenant, object_id: str, qs=None):
    if not looks_like_id(object_id, prefix):
        raise NotFound(f"No such {label}: '{str(object_id)[:60]}'", param="id")
    return get_scoped(qs if qs is not None else model, tenant=tenant, pk=object_id, label=label)


def payment_list(*, tenant: Tenant, customer_id: str | None = None, status: str | None = None,
                 created_after=None, created_before=None) -> QuerySet[Payment]:
    qs = scoped(Payment, tenant=tenant)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    if status:
        qs = qs.filter(status=status)
    if created_after:
        qs = qs.filter(created_at__gte=created_after)
    if created_before:
        qs = qs.filter(created_at__lt=created_before)
    return qs


def payment_get(*, tenant: Tenant, payment_id: str) -> Payment:
    return _get(Payment, "pay", "payment", tenant=tenant, object_id=payment_id)


def payment_method_list(*, tenant: Tenant, customer_id: str) -> QuerySet[PaymentMethod]:
    return scoped(PaymentMethod, tenant=tenant).filter(customer_id=customer_id, status=PaymentMethod.Status.ACTIVE)


def payment_method_get(*, tenant: Tenant, payment_method_id: str) -> PaymentMethod:
    return _get(PaymentMethod, "pm", "payment method", tenant=tenant, object_id=payment_method_id)


def refund_list(*, tenant: Tenant, payment_id: str | None = None) -> QuerySet[Refund]:
    qs = scoped(Refund, tenant=tenant)
    return qs.filter(payment_id=payment_id) if payment_id else qs


def refund_get(*, tenant: Tenant, refund_id: str) -> Refund:
    return _get(Refund, "ref", "refund", tenant=tenant, object_id=refund_id)


def void_list(*, tenant: Tenant, payment_id: str | None = None) -> QuerySet[Void]:
    qs = scoped(Void, tenant=tenant)
    return qs.filter(payment_id=payment_id) if payment_id else qs


def void_get(*, tenant: Tenant, void_id: str) -> Void:
    return _get(Void, "void", "void", tenant=tenant, object_id=void_id)


def _fees():
    return Prefetch("fee_lines", queryset=FeeLine.objects.order_by("id"))


def transaction_list(*, tenant: Tenant, payment_id: str | None = None, type: str | None = None) -> QuerySet[Transaction]:
    qs = scoped(Transaction, tenant=tenant).prefetch_related(_fees())
    if payment_id:
        qs = qs.filter(payment_id=payment_id)
    if type:
        qs = qs.filter(type=type)
    return qs


def transaction_get(*, tenant: Tenant, transaction_id: str) -> Transaction:
    return _get(Transaction, "txn", "transaction", tenant=tenant, object_id=transaction_id,
                qs=Transaction.objects.prefetch_related(_fees()))


def payment_for_reversal(*, tenant: Tenant, object_id: str) -> Payment:
    """A payment named by its id or by one of its transactions' ids (`charge`, `transaction_id`)."""
    if looks_like_id(object_id, "txn"):
        return transaction_get(tenant=tenant, transaction_id=object_id).payment
    return payment_get(tenant=tenant, payment_id=object_id)
