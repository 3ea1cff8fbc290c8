"""Helpers shared by the catalog services."""
from __future__ import annotations

from django.db import IntegrityError

from apps.core.errors import ValidationFailed

from ..validation import Errors, first_message


def invalid(errors: Errors, message: str | None = None) -> ValidationFailed:
    return ValidationFailed(message or first_message(errors), fields=errors)


def constraint_name(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) or str(exc)


class BatchRejected(ValidationFailed):
    """A batch with at least one bad row: nothing applied; `details.results` says which rows."""

    def __init__(self, message: str, *, fields: Errors, results: list[dict]):
        super().__init__(message, fields=fields)
        self.details["results"] = results
        self.results = results
