"""/v2 credit_notes operations (issue 5)."""
from __future__ import annotations

urlpatterns: list = []
