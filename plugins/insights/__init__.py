"""Insights: lifecycle segments with RFM scores, KPIs against targets, and the dashboards people
read.  See docs/insights.md."""
PLUGIN_NAME = "insights"
__version__ = "0.1.0"
