"""Payments writes, one module per area (payments.py: charges, refunds, voids, reconciliation; the
areas that grow around them beside it). Import from here: `from apps.payments import services`."""
from .payments import *  # noqa: F403
