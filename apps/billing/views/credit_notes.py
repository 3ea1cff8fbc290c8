"""Dashboard pages: credit_notes (issue 5)."""
from __future__ import annotations

urlpatterns: list = []
