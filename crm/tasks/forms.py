from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.i18n import _l


class TaskForm(FlaskForm):
    title = StringField(_l("What to do"), validators=[DataRequired(_l("Required.")),
                                                      Length(max=200)])
    due_on = DateField(_l("Due on"), validators=[Optional()])
    owner = SelectField(_l("Owner"), coerce=int, validate_choice=True)
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
