"""Tasks: to-dos with an owner and a due date, on a customer or not.

People create them (``/tasks/new``, the customer page), and rules create them as periodic
jobs (``rules.py``: a customer not contacted for N days reminds its owner).  "My tasks"
(``/followups``) lists them together with the follow-ups set when logging an activity.
"""
