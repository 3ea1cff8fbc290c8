from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from apps.core.events import register_event_handler

        from .handlers import apply_invoice_payments

        register_event_handler(apply_invoice_payments)
