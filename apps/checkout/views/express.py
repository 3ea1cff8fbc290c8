"""Checkout pages: express (issue 6)."""
from __future__ import annotations

urlpatterns: list = []
