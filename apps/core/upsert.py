"""What a batch upsert returns, shared by every app that offers one (customers, products)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class UpsertRow(Protocol):
    status: str

    def result(self) -> dict: ...


@dataclass
class UpsertOutcome:
    """Per-row results in input order, and the counts by status."""

    rows: list[UpsertRow]

    @property
    def results(self) -> list[dict]:
        return [row.result() for row in self.rows]

    @property
    def summary(self) -> dict:
        counts = {"created": 0, "updated": 0, "unchanged": 0, "stale": 0}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts
