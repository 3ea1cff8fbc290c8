from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "apps.checkout"
    label = "checkout"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from apps.core.events import register_event_handler

        from .handlers import complete_paid_checkouts

        register_event_handler(complete_paid_checkouts)
