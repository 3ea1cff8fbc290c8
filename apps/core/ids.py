"""Prefixed, time-ordered IDs ("cus_01HK4X7Z2M5N8P0Q3R6S9T2V5W") used as primary keys.

The ULID part sorts by creation time, so ordering by id matches ordering by creation and cursor
pagination can walk the primary key.
"""
from __future__ import annotations

import re

from django.db import models
from ulid import ULID

ID_RE = re.compile(r"^[a-z][a-z0-9]*_[0-9A-HJKMNP-TV-Z]{26}$")


def new_id(prefix: str) -> str:
    return f"{prefix}_{ULID()}"


def looks_like_id(value: str, prefix: str | None = None) -> bool:
    if not isinstance(value, str) or not ID_RE.match(value):
        return False
    return prefix is None or value.startswith(prefix + "_")


class PrefixedIdField(models.CharField):
    """Primary key column holding `<prefix>_<ULID>`; the prefix is fixed per model."""

    def __init__(self, *args, prefix: str = "", **kwargs):
        self.prefix = prefix
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("primary_key", True)
        kwargs.setdefault("editable", False)
        if prefix:
            kwargs["default"] = self._default
        super().__init__(*args, **kwargs)

    def _default(self):
        return new_id(self.prefix)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        kwargs.pop("default", None)
        return name, path, args, kwargs
