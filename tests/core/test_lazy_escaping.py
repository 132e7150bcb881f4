"""A lazy (flask-babel) message with a value in it is escaped when a template renders it:
flask-babel's LazyString says it is safe HTML, and crm/i18n.py takes that back."""
from __future__ import annotations

from flask import render_template_string

from crm.i18n import _l


def test_a_lazy_message_with_a_payload_is_escaped(app):
    message = _l("%(name)s joined the group.", name="<script>alert(1)</script>")
    errors = [message]
    with app.test_request_context():
        html = render_template_string("<p>{{ m }}</p><p>{{ errors|join(' ') }}</p>",
                                      m=message, errors=errors)
    assert "<script>" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 2


def test_plain_messages_keep_their_text(app):
    with app.test_request_context():
        html = render_template_string("{{ m }}", m=_l("Save"))
    assert html == "Save"
