"""The simulator's settings with their defaults (revkeen/settings/base.py sets them from the environment)."""
from django.conf import settings

DEFAULTS = {
    "NMI_SIM_BATCH_CUTOFF": "20:00",  # daily batch close, local time of NMI_SIM_BATCH_TIMEZONE
    "NMI_SIM_BATCH_TIMEZONE": "America/New_York",
    "NMI_SIM_DUP_SECONDS": 1200,  # duplicate window when a request sends no dup_seconds [GUESS], §1.6
    "NMI_SIM_TOKEN_TTL_SECONDS": 86400,  # Collect.js token lifetime [GUESS ~24 h], §1.7
    "NMI_SIM_3DS_TTL_SECONDS": 900,  # an unanswered 3-D Secure challenge is abandoned after this
    "NMI_SIM_FAULT_HANG_SECONDS": 35,  # timeout_after_charge: longer than the adapter's 30 s read timeout
    "NMI_SIM_PUBLIC_URL": "",  # browser-facing base (…/_sim/nmi) for challenge URLs; empty = request host
    "NMI_SIM_CONTROL_TOKEN": "",  # when set, /_control/ needs header X-Sim-Control-Token
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
