from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo

from crm.i18n import _l


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired()])


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[("zh_CN", "简体中文"), ("en", "English")])
    timezone = SelectField(_l("Time zone"), choices=[
        ("Asia/Shanghai", "Asia/Shanghai"), ("Asia/Hong_Kong", "Asia/Hong_Kong"),
        ("Asia/Taipei", "Asia/Taipei"), ("Asia/Singapore", "Asia/Singapore"),
        ("Europe/London", "Europe/London"), ("America/New_York", "America/New_York"),
        ("UTC", "UTC")])


class PasswordForm(FlaskForm):
    """The new password is checked against the policy by the view (it needs the username)."""
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("new", _l("The passwords differ."))])
