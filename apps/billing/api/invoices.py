"""/v2 invoices operations (issue 5)."""
from __future__ import annotations

urlpatterns: list = []
