"""The needs register's forms and labels (zh_CN and en through flask-babel)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FieldError

from .models import KINDS, TYPES

KIND_LABELS = {"explicit": _l("Explicit"), "implicit": _l("Implicit")}
TYPE_LABELS = {"function": _l("Function"), "service": _l("Services"),
               "cooperation": _l("Cooperation"), "price": _l("Price")}
STATUS_LABELS = {"to_confirm": _l("To confirm"), "analysing": _l("Analysing"),
                 "resolved": _l("Resolved"), "closed": _l("Closed")}
PRIORITY_LABELS = {"high": _l("High"), "medium": _l("Medium"), "low": _l("Low")}
ACTION_LABELS = {"analysing": _l("Confirm and analyse"), "resolved": _l("Mark resolved"),
                 "closed": _l("Close"), "reopen": _l("Back to analysis")}
EVENT_LABELS = {"created": _l("Registered"), "edited": _l("Edited"),
                "status": _l("Status changed"), "reviewed": _l("Monthly review")}


def labels() -> dict:
    return {"kind_labels": KIND_LABELS, "type_labels": TYPE_LABELS,
            "status_labels": STATUS_LABELS, "priority_labels": PRIORITY_LABELS,
            "action_labels": ACTION_LABELS, "event_labels": EVENT_LABELS}


def one_to_five(label):
    return IntegerField(label, validators=[InputRequired(_l("Give a score from 1 to 5.")),
                                           NumberRange(1, 5, _l("Give a score from 1 to 5."))])


class NeedForm(FlaskForm):
    kind = RadioField(_l("Kind"), choices=[(k, KIND_LABELS[k]) for k in KINDS],
                      default="explicit")
    type = SelectField(_l("Type"), choices=[(t, TYPE_LABELS[t]) for t in TYPES],
                       default="function")
    contact = SelectField(_l("Contact"), choices=[("", "—")], default="")
    title = StringField(_l("The need in a few words"), validators=[
        DataRequired(_l("Required.")), Length(max=100)],
        description=_l("Needs with the same words are counted together across customers."))
    statement = TextAreaField(_l("In the customer’s words (or what is inferred)"), validators=[
        DataRequired(_l("Required.")), Length(max=5000)])
    situation = TextAreaField(_l("Situation"), validators=[Optional(), Length(max=5000)])
    evidence = TextAreaField(_l("Evidence"), validators=[Length(max=5000)],
                             description=_l("Required for an implicit need: what it is "
                                            "inferred from."))
    urgency = one_to_five(_l("Urgency (1-5)"))
    importance = one_to_five(_l("Importance (1-5)"))
    customer_value = one_to_five(_l("Customer value (1-5)"))
    version = HiddenField()

    def validate_evidence(self, field):
        if self.kind.data == "implicit" and not (field.data or "").strip():
            raise FieldError(_l("An implicit need needs its evidence."))


class StatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])
    version = IntegerField(validators=[InputRequired()])
    note = TextAreaField(_l("Note"), validators=[Length(max=5000)])

    def validate_note(self, field):
        if self.status.data == "resolved" and not (field.data or "").strip():
            raise FieldError(_l("Say how the need was resolved."))


class ReviewForm(FlaskForm):
    version = IntegerField(validators=[InputRequired()])
    note = TextAreaField(_l("Review note"), validators=[Optional(), Length(max=2000)])
