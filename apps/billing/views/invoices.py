"""Dashboard pages: invoices (issue 5)."""
from __future__ import annotations

urlpatterns: list = []
