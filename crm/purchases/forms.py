from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DecimalField, FieldList, Form, FormField, IntegerField,
                     SelectField, StringField)
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                StopValidation)

from crm.i18n import _l

LINES = 4   # line rows shown in the form (works without JavaScript)
WTFORMS_INVALID_DECIMAL = "Not a valid decimal value."
MAX_PRICE_YUAN = 10_000_000   # a sanity cap per unit (money columns are 64-bit: migration 0008)


class LineForm(Form):
    product = SelectField(_l("Product"), choices=[("", "—")], default="", validate_choice=False)
    quantity = IntegerField(_l("Quantity"), default=1,
                            validators=[Optional(), NumberRange(min=1, max=100000)])


class PurchaseForm(FlaskForm):
    lines = FieldList(FormField(LineForm), min_entries=LINES, max_entries=20)
    note = StringField(_l("Note"), validators=[Length(max=300)])


class RefundForm(FlaskForm):
    reason = StringField(_l("Reason for the refund"),
                         validators=[DataRequired(message=_l("Say why the purchase is refunded.")),
                                     Length(max=300)])


def whole_fen(form, field):
    """A finite amount in whole fen: 19.99 is 1999 fen exactly; 19.999, NaN and Infinity are
    not prices.  WTForms' own message, translated by WTForms' catalogue (not ours)."""
    data = field.data
    if data is None:
        return
    try:
        whole = data.is_finite() and data == data.quantize(Decimal("0.01"))
    except InvalidOperation:   # more digits than the decimal context holds
        whole = False
    if not whole:
        raise StopValidation(field.gettext(WTFORMS_INVALID_DECIMAL))


class ProductForm(FlaskForm):
    sku = StringField(_l("SKU"), validators=[DataRequired(_l("Required.")), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(_l("Required.")), Length(max=200)])
    category = StringField(_l("Category"), validators=[Length(max=100)])
    # InputRequired, not DataRequired: 0 (a free item) is a price
    price = DecimalField(_l("Price (yuan)"), places=2,
                         validators=[InputRequired(_l("Required.")), whole_fen,
                                     NumberRange(min=0, max=MAX_PRICE_YUAN)])
    active = BooleanField(_l("On sale"), default=True)
