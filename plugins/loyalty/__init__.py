"""Loyalty: membership cards, tiers and points that retail staff can trust at the counter.

An append-only ledger of point movements with idempotency keys, credit lots consumed soonest
expiry first, cached balances guarded by database checks, pending points, expiry, pro-rata
refunds, a nightly expiry and reconciliation job, and a counter screen for a cheap phone.
See docs/loyalty.md.
"""
PLUGIN_NAME = "loyalty"
__version__ = "1.0.0"
