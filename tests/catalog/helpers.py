"""Assertions shared by the catalog tests."""
from apps.catalog.models import Benefit, Discount, Entitlement, Price, Product, ProductExternalId
from apps.core.models import Event


def assert_validation_error(response, *paths):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error", error
    assert error["code"] == "validation_error", error
    assert set(paths) <= set(error["details"]["fields"]), error
    return error


def catalog_rows(merchant) -> dict:
    """How many catalog rows and catalog events a merchant has (to prove nothing was written)."""
    return {
        "products": Product.objects.filter(merchant=merchant).count(),
        "external_ids": ProductExternalId.objects.filter(merchant=merchant).count(),
        "prices": Price.objects.filter(merchant=merchant).count(),
        "discounts": Discount.all_objects.filter(merchant=merchant).count(),
        "benefits": Benefit.all_objects.filter(merchant=merchant).count(),
        "entitlements": Entitlement.objects.filter(merchant=merchant).count(),
        "events": catalog_events(merchant).count(),
    }


CATALOG_EVENT_PREFIXES = ("product.", "price.", "discount.", "benefit.", "benefits.", "entitlement.")


def catalog_events(merchant):
    from django.db.models import Q

    condition = Q()
    for prefix in CATALOG_EVENT_PREFIXES:
        condition |= Q(type__startswith=prefix)
    return Event.objects.filter(condition, merchant=merchant)
