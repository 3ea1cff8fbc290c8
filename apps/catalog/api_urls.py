"""/v2 routes of the catalog. Each route is named after its reference operation id (for a path that
serves several operations, the first: GET+POST /products is `products_list`, GET+PATCH /products/{id}
is `products_get`); the tenancy probes (tests/catalog/probes.py) are keyed by these names. The
customer-entitlement routes live here because entitlements are the catalog's data."""
from django.urls import path

from .api import discounts, entitlements, prices, products

urlpatterns = [
    path("products", products.ProductListCreateApi.as_view(), name="products_list"),
    path("products/external/batch", products.ProductExternalBatchApi.as_view(), name="products_external_batch"),
    path("products/external/<str:source>/<str:external_id>", products.ProductExternalUpsertApi.as_view(),
         name="products_external_upsert"),
    path("products/<str:product_id>", products.ProductDetailApi.as_view(), name="products_get"),
    path("prices", prices.PriceListCreateApi.as_view(), name="prices_list"),
    path("prices/<str:price_id>", prices.PriceDetailApi.as_view(), name="prices_get"),
    path("discounts", discounts.DiscountListCreateApi.as_view(), name="discounts_list"),
    path("discounts/<str:discount_id>", discounts.DiscountDetailApi.as_view(), name="discounts_get"),
    path("entitlements", entitlements.EntitlementListApi.as_view(), name="entitlements_list"),
    path("entitlements/check", entitlements.EntitlementCheckApi.as_view(), name="entitlements_check"),
    path("customers/<str:customer_id>/entitlements", entitlements.CustomerEntitlementsApi.as_view(),
         name="customers_entitlements_list"),
    path("customers/<str:customer_id>/entitlements/check", entitlements.CustomerEntitlementCheckApi.as_view(),
         name="customers_entitlements_check"),
    path("customers/<str:customer_id>/entitlements/<str:entitlement_id>",
         entitlements.CustomerEntitlementDetailApi.as_view(), name="customers_entitlements_revoke_by_id"),
]
