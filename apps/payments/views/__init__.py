"""Dashboard views of the payments app, one module per page family (payments, disputes, payouts)."""
