from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from apps.accounts.views import register_pending_actions
        from apps.core.events import register_event_handler
        from apps.customers.views import register_detail_card

        from .handlers import apply_invoice_payments, note_invoice_payment_failures
        from .services.credit_notes import credit_note_follow_refund
        from .views.credit_notes import customer_credit_notes_card
        from .views.home import billing_pending_actions
        from .views.invoices import customer_invoices_card

        # Card payments and refunds whose outcome arrives after the request (reconciler, 3-D Secure).
        register_event_handler(apply_invoice_payments)
        register_event_handler(note_invoice_payment_failures)
        register_event_handler(credit_note_follow_refund)
        register_pending_actions(billing_pending_actions)
        register_detail_card("billing/invoices/customer_card.html", customer_invoices_card)
        register_detail_card("billing/credit_notes/customer_card.html", customer_credit_notes_card)
