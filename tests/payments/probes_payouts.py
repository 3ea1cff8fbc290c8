"""Tenancy probes for the payments payouts routes (see tests/tenancy_probes.py)."""
