"""Dashboard pages: orders (issue 5)."""
from __future__ import annotations

urlpatterns: list = []
