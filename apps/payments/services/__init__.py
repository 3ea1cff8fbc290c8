"""Payments writes, one module per area (payments.py: charges, refunds, voids, reconciliation; the
areas that grow around them beside it). Import from here: `from apps.payments import services`."""
from .adjustments import *  # noqa: F403
from .disputes import *  # noqa: F403
from .intents import *  # noqa: F403
from .payments import *  # noqa: F403
from .payouts import *  # noqa: F403
from .settlement import *  # noqa: F403
