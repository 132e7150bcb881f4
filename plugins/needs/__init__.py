"""Needs register: explicit and implicit needs of customers, prioritised by urgency, importance
and customer value, reviewed monthly until resolved, analysed across customers and exported as
the "customer needs analysis" sheet (XLSX).  See docs/needs.md."""
PLUGIN_NAME = "needs"
__version__ = "1.0.0"
