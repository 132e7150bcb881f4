from flask_wtf import FlaskForm
from wtforms import (BooleanField, DecimalField, FieldList, Form, FormField, IntegerField,
                     SelectField, StringField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from crm.i18n import _l

LINES = 4   # line rows shown in the form (works without JavaScript)


class LineForm(Form):
    product = SelectField(_l("Product"), choices=[("", "—")], default="", validate_choice=False)
    quantity = IntegerField(_l("Quantity"), default=1,
                            validators=[Optional(), NumberRange(min=1, max=100000)])


class PurchaseForm(FlaskForm):
    lines = FieldList(FormField(LineForm), min_entries=LINES, max_entries=20)
    note = StringField(_l("Note"), validators=[Length(max=300)])


class ProductForm(FlaskForm):
    sku = StringField(_l("SKU"), validators=[DataRequired(_l("Required.")), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(_l("Required.")), Length(max=200)])
    category = StringField(_l("Category"), validators=[Length(max=100)])
    price = DecimalField(_l("Price (yuan)"), places=2,
                         validators=[DataRequired(_l("Required.")), NumberRange(min=0)])
    active = BooleanField(_l("On sale"), default=True)
