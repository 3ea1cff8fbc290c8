"""/v2 orders operations (issue 5)."""
from __future__ import annotations

urlpatterns: list = []
