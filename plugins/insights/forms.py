"""The insights plugin's form: an entry of marketing spend (channel, month, amount, note).

The amount is parsed as the core parses prices (``crm.purchases.forms``): a ``DecimalField``
of yuan that must be a whole number of fen (``whole_fen``), then stored as integer fen.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, HiddenField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from crm.purchases.forms import whole_fen

from . import spend

MAX_SPEND_YUAN = 1_000_000_000          # 10^11 fen: a BIGINT column
AMOUNT_ERROR = _l("Enter an amount in yuan, 0 or more, with at most two decimals "
                  "(for example 12800 or 99.50).")


class SpendForm(FlaskForm):
    id = HiddenField()
    version = HiddenField()
    channel = SelectField(_l("Channel (the customers' source)"), choices=[],
                          validators=[InputRequired(_l("Required."))])
    month = StringField(_l("Month"), render_kw={"type": "month", "placeholder": "2026-05"},
                        validators=[InputRequired(_l("Required."))])
    amount = DecimalField(_l("Amount (yuan)"), places=2,
                          render_kw={"inputmode": "decimal"},
                          validators=[InputRequired(_l("Required.")), whole_fen,
                                      NumberRange(min=0, max=MAX_SPEND_YUAN)])
    note = StringField(_l("Note"), validators=[Length(max=300)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel.choices = list(spend.channels().items())
        self.month_value = None

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        raw = (self.amount.raw_data or [""])[0].strip() if self.amount.raw_data else ""
        if self.amount.errors and raw:
            # one clear message, in our catalogue, whatever WTForms said (invalid decimal,
            # more than two decimals, out of range)
            self.amount.errors = [AMOUNT_ERROR]
        if self.month.data and not self.month.errors:
            self.month_value = spend.parse_month(self.month.data)
            if self.month_value is None:
                self.month.errors = [_l("Enter a month as YYYY-MM (for example 2026-05).")]
                valid = False
        return valid and not self.amount.errors

    @property
    def amount_fen(self) -> int:
        return int((Decimal(self.amount.data) * 100).to_integral_value())
