"""The public shapes of checkout objects: what the API returns and the events carry."""
from __future__ import annotations

from django.conf import settings

from apps.catalog.payloads import iso

from .models import CheckoutSession, PaymentLink


def _base() -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/")


def payment_link_url(link: PaymentLink) -> str:
    return f"{_base()}/pay/{link.pk}"


def checkout_session_url(session: CheckoutSession) -> str:
    return f"{_base()}/checkout/{session.pk}"


def payment_link_payload(link: PaymentLink, *, items: list | None = None) -> dict:
    if items is None:
        items = list(link.items.all())
    completions = link.uses_count
    return {
        "id": link.pk, "object": "payment_link", "public_id": link.pk, "url": payment_link_url(link),
        "name": link.name, "status": link.status, "active": link.status == PaymentLink.Status.ACTIVE,
        "currency": link.currency,
        "line_items": [{"id": item.pk, "price_id": item.price_id, "quantity": item.quantity,
                        "min_quantity": item.min_quantity, "max_quantity": item.max_quantity} for item in items],
        "allow_quantity": link.allow_quantity, "allow_discount_codes": link.allow_discount_codes,
        "collect_billing_address": link.collect_billing_address,
        "collect_shipping_address": link.collect_shipping_address,
        "is_business_purchase": link.is_business_purchase, "require_terms": link.require_terms,
        "custom_fields": link.custom_fields, "success_message": link.success_message or None,
        "success_url": link.success_url or None, "cancel_url": link.cancel_url or None,
        "expires_at": iso(link.expires_at), "max_uses": link.max_uses, "uses_count": link.uses_count,
        "analytics": {"views": link.views_count, "sessions_started": link.sessions_started_count,
                      "completions": completions,
                      "conversion_rate": round(completions / link.views_count, 4) if link.views_count else None,
                      "abandonment_rate": round(1 - completions / link.sessions_started_count, 4)
                      if link.sessions_started_count else None,
                      "revenue_minor": link.revenue_minor},
        "metadata": link.metadata, "livemode": link.livemode,
        "created_at": iso(link.created_at), "updated_at": iso(link.updated_at),
    }


def checkout_session_payload(session: CheckoutSession, *, items: list | None = None) -> dict:
    if items is None:
        items = list(session.items.all())
    order_id = None
    if session.invoice_id:
        from apps.billing.models import Order

        order_id = Order.objects.filter(invoice_id=session.invoice_id).values_list("pk", flat=True).first()
    metadata = {k: v for k, v in (session.metadata or {}).items() if not k.startswith("_")}
    return {
        "id": session.pk, "object": "checkout_session", "url": checkout_session_url(session), "mode": session.mode,
        "status": session.status, "payment_status": session.payment_status, "currency": session.currency,
        "customer_id": session.customer_id, "customer_email": session.customer_email or None,
        "payment_link_id": session.payment_link_id, "invoice_id": session.invoice_id, "order_id": order_id,
        "payment_id": session.payment_id, "payment_method_id": session.payment_method_id, "subscription_id": None,
        "line_items": [{"id": item.pk, "price_id": item.price_id, "quantity": item.quantity,
                        "custom_amount_minor": item.custom_amount_minor,
                        "adjustable_quantity": item.adjustable_quantity} for item in items],
        "amount_subtotal_minor": session.subtotal_minor, "amount_discount_minor": session.discount_minor,
        "amount_tax_minor": session.tax_minor, "amount_total_minor": session.total_minor,
        "allow_promotion_codes": session.allow_promotion_codes, "discount_code": session.discount_code or None,
        "billing_address_collection": session.billing_address_collection,
        "success_url": session.success_url or None, "cancel_url": session.cancel_url or None,
        "client_reference_id": session.client_reference_id or None, "last_step": session.last_step,
        "expires_at": iso(session.expires_at), "completed_at": iso(session.completed_at),
        "metadata": metadata, "livemode": session.livemode, "created_at": iso(session.created_at),
    }
