"""Dashboard views of the catalog: products and their prices, discounts, benefits.

Each view validates a form, calls one service or selector and renders; the rules live in the
services. Reads need VIEW_DASHBOARD, writes MANAGE_PRODUCTS.
"""
from .benefits import benefit_create, benefit_delete, benefit_detail, benefit_list
from .discounts import discount_create, discount_delete, discount_detail, discount_list, discount_set_active
from .products import (
    price_add,
    price_archive,
    price_restore,
    product_archive,
    product_benefit_attach,
    product_benefit_detach,
    product_create,
    product_delete,
    product_detail,
    product_export,
    product_list,
    product_unarchive,
)

__all__ = [
    "benefit_create", "benefit_delete", "benefit_detail", "benefit_list",
    "discount_create", "discount_delete", "discount_detail", "discount_list", "discount_set_active",
    "price_add", "price_archive", "price_restore", "product_archive", "product_benefit_attach",
    "product_benefit_detach", "product_create", "product_delete", "product_detail", "product_export", "product_list",
    "product_unarchive",
]
