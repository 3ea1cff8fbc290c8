"""Every write to the catalog. Grouped by object in submodules; import from here."""
from ._common import BatchRejected
from .benefits import (
    EXPIRED_EVENT,
    GRANTED_EVENT,
    REVOKED_EVENT,
    benefit_create,
    benefit_delete,
    benefit_update,
    benefits_grant_for_purchase,
    entitlement_check,
    entitlement_grant,
    entitlement_revoke,
    entitlement_revoke_by_key,
    entitlements_expire_due,
    product_benefit_attach,
    product_benefit_detach,
    revoke_entitlements_of_deleted_customer,
)
from .discounts import (
    DiscountNotApplicable,
    discount_check,
    discount_create,
    discount_delete,
    discount_redeem,
    discount_update,
    register_prior_purchase_check,
)
from .prices import price_archive, price_create, price_delete, price_mark_sold, price_update
from .products import (
    BATCH_MAX_ROWS,
    product_archive,
    product_batch_upsert,
    product_create,
    product_delete,
    product_mark_sold,
    product_update,
    product_upsert_by_external_id,
)

__all__ = [
    "EXPIRED_EVENT", "GRANTED_EVENT", "REVOKED_EVENT", "entitlements_expire_due", "benefit_create", "benefit_delete", "benefit_update",
    "benefits_grant_for_purchase", "entitlement_check", "entitlement_grant", "entitlement_revoke",
    "entitlement_revoke_by_key", "product_benefit_attach", "product_benefit_detach",
    "revoke_entitlements_of_deleted_customer",
    "DiscountNotApplicable", "discount_check", "discount_create", "discount_delete", "discount_redeem", "discount_update",
    "register_prior_purchase_check",
    "price_archive", "price_create", "price_delete", "price_mark_sold", "price_update",
    "BATCH_MAX_ROWS", "product_archive", "product_batch_upsert", "product_create", "product_delete",
    "product_mark_sold", "product_update", "product_upsert_by_external_id",
    "BatchRejected",
]
