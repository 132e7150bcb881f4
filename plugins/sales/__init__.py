"""Sales pipeline: deals on customers, stages an administrator configures (order, probability,
won/lost, entry rules, stuck threshold), stage history with time in stage, a board that works
without JavaScript, a list, a customer panel and forecast/conversion cards.  See docs/sales.md."""
PLUGIN_NAME = "sales"
__version__ = "1.0.0"
