"""The service desk's forms and the labels of its choices (zh_CN and en through flask-babel)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (DateField, HiddenField, IntegerField, RadioField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FieldError

from .models import CAUSES, CHANNELS, PRIORITIES, TYPES

TYPE_LABELS = {"complaint": _l("Complaint"), "suggestion": _l("Suggestion"),
               "inquiry": _l("Inquiry"), "after_sales": _l("After-sales")}
CHANNEL_LABELS = {"phone": _l("Phone"), "wechat": _l("WeChat"), "email": _l("E-mail"),
                  "visit": _l("In person"), "web": _l("Website"), "sms": _l("SMS")}
PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"),
                   "urgent": _l("Urgent")}
STATUS_LABELS = {"new": _l("New"), "assigned": _l("Assigned"), "in_progress": _l("In progress"),
                 "resolved": _l("Resolved"), "closed": _l("Closed")}
CAUSE_LABELS = {"product_quality": _l("Product quality"), "delivery": _l("Delivery"),
                "installation": _l("Installation"), "staff_attitude": _l("Staff attitude"),
                "price_billing": _l("Price or billing"), "information": _l("Wrong information"),
                "other": _l("Other"), "": _l("Not given")}
SATISFACTION_LABELS = {5: _l("5 · Very satisfied"), 4: _l("4 · Satisfied"), 3: _l("3 · Neutral"),
                       2: _l("2 · Dissatisfied"), 1: _l("1 · Very dissatisfied")}
EVENT_LABELS = {"created": _l("Opened"), "assigned": _l("Assigned to"),
                "status": _l("Status changed"), "comment": _l("Note"),
                "reopened": _l("Reopened"), "edited": _l("Edited"),
                "warned": _l("SLA warning"), "breached": _l("SLA missed"),
                "escalated": _l("Escalated to")}
TARGET_LABELS = {"response": _l("first response"), "resolve": _l("resolution")}
SLA_LABELS = {"ok": _l("On time"), "at_risk": _l("At risk"), "breached": _l("Overdue"),
              "done": "—"}

REQUIRED = _l("Required.")


def labels() -> dict:
    """What every service template needs to show codes as words."""
    return {"type_labels": TYPE_LABELS, "channel_labels": CHANNEL_LABELS,
            "priority_labels": PRIORITY_LABELS, "status_labels": STATUS_LABELS,
            "cause_labels": CAUSE_LABELS, "event_labels": EVENT_LABELS,
            "target_labels": TARGET_LABELS, "sla_labels": SLA_LABELS,
            "satisfaction_labels": SATISFACTION_LABELS}


class TicketForm(FlaskForm):
    type = SelectField(_l("Type"), choices=[(t, TYPE_LABELS[t]) for t in TYPES],
                       default="complaint")
    channel = SelectField(_l("Channel"), choices=[(c, CHANNEL_LABELS[c]) for c in CHANNELS],
                          default="phone")
    priority = SelectField(_l("Priority"), choices=[(p, PRIORITY_LABELS[p]) for p in PRIORITIES],
                           default="normal")
    contact = SelectField(_l("Contact"), choices=[("", "—")], default="")
    product = SelectField(_l("Product"), choices=[("", "—")], default="")
    subject = StringField(_l("Subject"), validators=[DataRequired(REQUIRED), Length(max=200)])
    content = TextAreaField(_l("What the customer says"),
                            validators=[DataRequired(REQUIRED), Length(max=5000)])
    assignee = SelectField(_l("Assignee"), choices=[("", "—")], default="")
    version = HiddenField()


class VersionForm(FlaskForm):
    version = IntegerField(validators=[InputRequired()])


class AssignForm(VersionForm):
    assignee = SelectField(_l("Assignee"), choices=[("", "—")], default="",
                           validators=[DataRequired(_l("Choose who handles the ticket."))])


class ResolveForm(VersionForm):
    resolution = TextAreaField(_l("Resolution"), validators=[
        DataRequired(_l("Describe how the ticket was resolved.")), Length(max=5000)])
    cause = SelectField(_l("Cause"), choices=[("", "—")] + [(c, CAUSE_LABELS[c]) for c in CAUSES],
                        default="")
    ticket_type = HiddenField()

    def validate_cause(self, field):
        if self.ticket_type.data == "complaint" and not field.data:
            raise FieldError(_l("A complaint needs its cause (for the complaint analysis)."))


class CloseForm(VersionForm):
    resolution = TextAreaField(_l("Resolution"), validators=[
        DataRequired(_l("A ticket is closed with its resolution.")), Length(max=5000)])
    followup_channel = SelectField(_l("Follow-up by"),
                                   choices=[(c, CHANNEL_LABELS[c]) for c in CHANNELS],
                                   default="phone")
    followup_note = TextAreaField(_l("Follow-up with the customer (回访)"), validators=[
        DataRequired(_l("Record what the customer said in the follow-up.")), Length(max=5000)])
    satisfaction = RadioField(_l("Customer satisfaction"), coerce=int,
                              choices=[(n, SATISFACTION_LABELS[n]) for n in (5, 4, 3, 2, 1)],
                              validators=[InputRequired(_l("Ask the customer: 1 to 5."))])


class ReopenForm(VersionForm):
    reason = TextAreaField(_l("Why reopen"), validators=[
        DataRequired(_l("Say why the ticket is reopened.")), Length(max=2000)])


class CommentForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[DataRequired(REQUIRED), Length(max=5000)])


class CalendarForm(FlaskForm):
    day = DateField(_l("Date"), validators=[InputRequired(_l("Enter a date."))])
    workday = SelectField(_l("This day is"), choices=[("0", _l("a day off")),
                                                      ("1", _l("a working day"))], default="0")
    note = StringField(_l("Note"), validators=[Optional(), Length(max=100)])


class DeleteDayForm(FlaskForm):
    day = DateField(validators=[InputRequired()])


def sla_hours_field(label):
    return IntegerField(label, validators=[InputRequired(_l("Enter a number of hours.")),
                                           NumberRange(1, 2000, _l("From 1 to 2000 hours."))])
