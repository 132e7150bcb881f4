"""Service desk: tickets (FK + year + month + sequence) with a status workflow, SLA targets in
business hours on China's working calendar, breach warnings and escalation, closing with a
follow-up (回访) and the customer's satisfaction, and the complaint analysis.  See docs/service.md."""
PLUGIN_NAME = "service"
__version__ = "1.0.0"
