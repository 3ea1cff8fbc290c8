"""Checkout pages: hosted (issue 6)."""
from __future__ import annotations

urlpatterns: list = []
