"""The community plugin's forms and labels (English msgids, zh_CN through the catalogues)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (DateTimeLocalField, HiddenField, IntegerField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from crm.i18n import _l

ROLE_LABELS = {"member": _l("Member"), "representative": _l("Representative")}
TOPIC_ACTION_LABELS = {"pin": _l("Pin"), "unpin": _l("Unpin"), "close": _l("Close"),
                       "reopen": _l("Reopen"), "hide": _l("Hide"), "show": _l("Show again")}


def labels() -> dict:
    return {"role_labels": ROLE_LABELS, "topic_action_labels": TOPIC_ACTION_LABELS}


class GroupForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the group a name.")),
                                               Length(max=100)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    rules = TextAreaField(_l("Rules"), validators=[Optional(), Length(max=5000)],
                          description=_l("What members agree to: shown on the group page."))
    owners = SelectMultipleField(_l("Owners (staff)"), coerce=int, choices=[],
                                 validate_choice=False,
                                 description=_l("They manage members and events and moderate "
                                                "the topics."))
    version = HiddenField()


class MemberForm(FlaskForm):
    number = StringField(_l("Customer number"), validators=[
        DataRequired(_l("Enter the customer's number.")), Length(max=32)])
    role = SelectField(_l("Role"), choices=[(k, v) for k, v in ROLE_LABELS.items()],
                       default="member")


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[(k, v) for k, v in ROLE_LABELS.items()])


class JoinForm(FlaskForm):
    """On the customer's panel: put this customer in a group."""
    group = SelectField(_l("Group"), coerce=int, choices=[], validate_choice=False,
                        validators=[InputRequired(_l("Choose a group."))])
    role = SelectField(_l("Role"), choices=[(k, v) for k, v in ROLE_LABELS.items()],
                       default="member")


class EventForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the event a title.")),
                                                 Length(max=120)])
    starts_at = DateTimeLocalField(_l("Starts at"), format="%Y-%m-%dT%H:%M", validators=[
        InputRequired(_l("Give the date and time the event starts."))])
    location = StringField(_l("Location"), validators=[Optional(), Length(max=200)])
    capacity = IntegerField(_l("Capacity (places, 0 for no limit)"), default=0, validators=[
        InputRequired(_l("The capacity is a number of places, 0 for no limit.")),
        NumberRange(0, 100000, _l("The capacity is a number of places, 0 for no limit."))])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])


class SignupForm(FlaskForm):
    """Sign a member up: chosen from the members (``customer``) or by number."""
    customer = SelectField(_l("Member"), coerce=str, choices=[], validate_choice=False)
    number = StringField(_l("Or a customer number"), validators=[Optional(), Length(max=32)])


class CheckinForm(FlaskForm):
    """Check a customer in: a signed-up one (``customer``) or a walk-in by number."""
    customer = HiddenField()
    walk_in_number = StringField(_l("Customer number (walk-in)"), validators=[
        Optional(), Length(max=32)])


class TopicForm(FlaskForm):
    customer = SelectField(_l("On behalf of"), coerce=str, choices=[], validate_choice=False)
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the topic a title.")),
                                                 Length(max=120)])
    body = TextAreaField(_l("Text"), validators=[Optional(), Length(max=10000)])


class ReplyForm(FlaskForm):
    customer = SelectField(_l("On behalf of"), coerce=str, choices=[], validate_choice=False)
    body = TextAreaField(_l("Reply"), validators=[DataRequired(_l("Write the reply first.")),
                                                  Length(max=10000)])
