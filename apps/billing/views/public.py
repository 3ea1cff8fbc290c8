"""Public pages customers reach without logging in: the hosted invoice page (issue 5)."""
from __future__ import annotations

urlpatterns: list = []
