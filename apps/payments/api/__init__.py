"""/v2 views of the payments app, one module per resource family."""
from .payments import *  # noqa: F403
