"""Community: groups of customers (member clubs, interest groups, a city's VIP circle), their
events with sign-up and check-in, topics with replies written on a member's behalf, moderation,
and engagement figures other plugins can read (``plugins.community.facts``).  Check-ins earn
loyalty points through the hooks loyalty offers, when loyalty is enabled.  See docs/community.md.
"""
PLUGIN_NAME = "community"
__version__ = "1.0.0"
