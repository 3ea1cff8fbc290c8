from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apps.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self):
        from apps.accounts.views import register_pending_actions
        from apps.customers.views import register_detail_card

        from .views.home import payments_pending_actions
        from .views.payments import customer_payments_card

        register_detail_card("payments/payments/customer_card.html", customer_payments_card)
        register_pending_actions(payments_pending_actions)
