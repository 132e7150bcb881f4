from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.activities.models import OUTCOMES
from crm.i18n import _l

KIND_LABELS = {"call": _l("Call"), "visit": _l("Visit"), "meeting": _l("Meeting"),
               "email": _l("E-mail"), "wechat": _l("WeChat"), "sms": _l("SMS"),
               "note": _l("Note"), "purchase": _l("Purchase")}
OUTCOME_LABELS = {"": "—", "reached": _l("Reached"), "no_answer": _l("No answer"),
                  "interested": _l("Interested"), "not_interested": _l("Not interested"),
                  "follow_up": _l("Needs follow-up"), "done": _l("Done"),
                  "refunded": _l("Refunded")}   # a refund's purchase activity, never chosen
LOGGABLE = ("call", "visit", "meeting", "email", "wechat", "sms", "note")


class ActivityForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=[(k, KIND_LABELS[k]) for k in LOGGABLE], default="call")
    occurred_at = DateTimeLocalField(_l("When"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
                                     validators=[Optional()],
                                     description=_l("Empty means now"))
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(_l("Required.")),
                                                       Length(max=5000)])
    outcome = SelectField(_l("Outcome"), choices=[(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
                          default="")
    contact = SelectField(_l("Contact"), choices=[("", "—")], default="", validate_choice=False)
    next_followup_on = DateField(_l("Next follow-up"), validators=[Optional()])
