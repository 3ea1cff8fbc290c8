"""The catalog's /v2 endpoints: products, prices, discounts, entitlements."""
