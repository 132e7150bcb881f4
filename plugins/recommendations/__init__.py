"""Recommendations: products a customer is likely to buy next (item-to-item co-occurrence over
purchases, weighted by recency; popular-in-segment for new customers), next best actions
(win-back, anniversary greeting, resolve an open complaint first) and their acceptance rate.
Scores are precomputed every night.  See docs/recommendations.md."""
PLUGIN_NAME = "recommendations"
__version__ = "1.0.0"
