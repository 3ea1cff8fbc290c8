"""Dashboard pages: settings (issue 5)."""
from __future__ import annotations

urlpatterns: list = []
