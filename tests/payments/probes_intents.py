"""Tenancy probes for the payments intents routes (see tests/tenancy_probes.py)."""
