from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "apps.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # A soft-deleted customer loses their entitlements, inside customer_delete's transaction.
        from apps.customers.services import register_customer_delete_hook

        from .services import revoke_entitlements_of_deleted_customer

        register_customer_delete_hook(revoke_entitlements_of_deleted_customer)
