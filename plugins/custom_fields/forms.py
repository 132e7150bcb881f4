"""The administrator's form for one custom field."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, HiddenField, IntegerField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from crm.i18n import _l

from .fieldtypes import TYPE_LABELS, TYPES
from .services import ROLES


def _role_choices():
    from crm.admin.forms import ROLE_LABELS
    return [(r, ROLE_LABELS[r]) for r in ROLES]


class Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DefinitionForm(FlaskForm):
    label_zh = StringField(_l("Name in Chinese"), validators=[Length(max=60)])
    label_en = StringField(_l("Name in English"), validators=[Length(max=60)])
    key = StringField(_l("Key"), validators=[Length(max=40)],
                      description=_l("Letters, digits and _; names the column in imports and "
                                     "exports. Left empty, it is made from the English name."))
    type = SelectField(_l("Type"), choices=[(t, TYPE_LABELS[t]) for t in TYPES], default="text")
    choices = TextAreaField(_l("Options"), validators=[Length(max=5000)],
                            render_kw={"rows": 5},
                            description=_l("For a choice field: one option a line, "
                                           "“中文 | English”."))
    required = BooleanField(_l("Required"))
    section = StringField(_l("Section of the form"), validators=[Length(max=60)],
                          description=_l("Fields of one section are shown together; "
                                         "empty: “More”."))
    view_roles = Checkboxes(_l("Who sees it"), choices=_role_choices(), validate_choice=True,
                            description=_l("None ticked: everybody who sees the customer."))
    edit_roles = Checkboxes(_l("Who edits it"), choices=_role_choices(), validate_choice=True,
                            description=_l("None ticked: everybody who may edit the customer "
                                           "and sees the field."))
    help_zh = StringField(_l("Help in Chinese"), validators=[Length(max=300)])
    help_en = StringField(_l("Help in English"), validators=[Length(max=300)])
    in_list = BooleanField(_l("A column of the customer list"))
    filterable = BooleanField(_l("A filter of the customer list"), default=True)
    position = IntegerField(_l("Position"), default=100,
                            validators=[Optional(), NumberRange(0, 9999)])
    version = HiddenField()
