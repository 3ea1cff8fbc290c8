"""Tenancy probes for the payments disputes routes (see tests/tenancy_probes.py)."""
