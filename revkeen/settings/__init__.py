"""Run mode is chosen by environment alone: DATABASE_URL + REDIS_URL mean service mode,
nothing set means embedded mode (SQLite, in-process tasks and schedules)."""
import os

if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
    from .service import *  # noqa: F403
else:
    from .embedded import *  # noqa: F403
