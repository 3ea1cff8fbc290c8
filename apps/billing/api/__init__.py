"""The billing API, one module per resource: schedule.py (/v2/billing helpers), invoices.py, orders.py,
credit_notes.py. Each module owns its `urlpatterns` (route names are the reference operation ids)."""
