from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from crm.accounts.models import ROLES
from crm.i18n import _l

ROLE_LABELS = {"admin": _l("Administrator"), "manager": _l("Manager"), "sales": _l("Sales"),
               "service": _l("Service"), "clerk": _l("Store clerk")}


class UserForm(FlaskForm):
    username = StringField(_l("Username"), validators=[
        DataRequired(_l("Required.")), Length(max=64),
        Regexp(r"^[A-Za-z0-9_.\-]+$", message=_l("Letters, digits, dot, dash and underscore."))])
    display_name = StringField(_l("Name"), validators=[Length(max=100)])
    role = SelectField(_l("Role"), choices=[(r, ROLE_LABELS[r]) for r in ROLES], default="sales")
    department = SelectField(_l("Department"), coerce=int, choices=[(0, "—")], default=0)
    locale = SelectField(_l("Language"), choices=[("zh_CN", "简体中文"), ("en", "English")])
    is_active = BooleanField(_l("Active"), default=True)
    # checked against the password policy by the view (it needs the username)
    password = PasswordField(_l("Password"), validators=[Optional()])


class DepartmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Required.")), Length(max=100)])
    parent = SelectField(_l("Parent department"), coerce=int, choices=[(0, "—")], default=0)
