"""The loyalty plugin's forms.  Every counter form carries its idempotency key (``key``, a
hidden field filled when the form is shown): a double tap sends the same key twice, and the
second request finds the first one's result instead of doing it again."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, DecimalField, HiddenField, IntegerField,
                     SelectField, StringField)
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                Regexp, ValidationError)

from crm.i18n import _l
from crm.purchases.forms import PurchaseForm
from crm.validation import Phone


REQUIRED = _l("Required.")
KEY_MESSAGE = _l("The form is out of date. Reload the page and try again.")
CARD = [Optional(), Regexp(r"^\d{6,24}$", message=_l("A card number has 6 to 24 digits."))]


class KeyedForm(FlaskForm):
    key = HiddenField(validators=[Regexp(r"^[0-9a-f]{32}$", message=KEY_MESSAGE)])


def _no_future(form, field):
    import datetime as dt
    if field.data and field.data > dt.date.today():
        raise ValidationError(_l("A birthday cannot be in the future."))


class EnrolForm(KeyedForm):
    """A new member at the counter: a person, their phone, and optionally a scanned card, a
    birthday and their consent (PIPL: marketing messages only with consent)."""
    name = StringField(_l("Member's name"),
                       validators=[DataRequired(REQUIRED), Length(max=100)])
    phone = StringField(_l("Mobile phone"), validators=[DataRequired(REQUIRED), Phone()])
    card_no = StringField(_l("Card number (scan, or leave empty for a new one)"),
                          validators=CARD)
    birthday = DateField(_l("Birthday"), validators=[Optional(), _no_future])
    consent = BooleanField(_l("Agrees to receive offers by SMS"))


class EnrolExistingForm(KeyedForm):
    card_no = StringField(_l("Card number (scan, or leave empty for a new one)"),
                          validators=CARD)
    birthday = DateField(_l("Birthday"), validators=[Optional(), _no_future])
    consent = BooleanField(_l("Agrees to receive offers by SMS"))


class CounterPurchaseForm(PurchaseForm):
    """The core's purchase form (lines priced from the catalogue) plus the key."""
    key = HiddenField(validators=[Regexp(r"^[0-9a-f]{32}$", message=KEY_MESSAGE)])


class GiftForm(KeyedForm):
    gift = SelectField(_l("Gift"), coerce=int, validate_choice=True)
    quantity = IntegerField(_l("Quantity"), default=1,
                            validators=[InputRequired(REQUIRED), NumberRange(min=1, max=99)])


class CashForm(KeyedForm):
    points = IntegerField(_l("Points to use"),
                          validators=[InputRequired(REQUIRED),
                                      NumberRange(min=1, max=10_000_000)])


class ReviewForm(KeyedForm):
    ref = StringField(_l("Review reference (order number or link)"),
                      validators=[DataRequired(REQUIRED), Length(max=60)])


class AdjustForm(KeyedForm):
    points = IntegerField(_l("Points (negative to remove)"),
                          validators=[InputRequired(REQUIRED),
                                      NumberRange(min=-10_000_000, max=10_000_000)])
    reason = StringField(_l("Reason"), validators=[DataRequired(REQUIRED), Length(max=300)])


class RefundForm(KeyedForm):
    purchase = SelectField(_l("Returned purchase"), coerce=int, validate_choice=True)
    amount = DecimalField(_l("Amount refunded (yuan)"), places=2,
                          validators=[InputRequired(REQUIRED),
                                      NumberRange(min=Decimal("0.01"), max=10_000_000)])


# -- administration -------------------------------------------------------------------------------

class ProgramForm(FlaskForm):
    version = HiddenField()
    pending_days = IntegerField(_l("Return window: days before purchase points can be spent"),
                                validators=[InputRequired(REQUIRED), NumberRange(min=0, max=365)])
    expiry_mode = SelectField(_l("Points expire"), choices=[
        ("days", _l("a number of days after they are earned")),
        ("year_end", _l("at the end of a year")),
        ("never", _l("they never expire"))], validators=[DataRequired(REQUIRED)])
    expiry_days = IntegerField(_l("Days until points expire"),
                               validators=[InputRequired(REQUIRED),
                                           NumberRange(min=1, max=3650)])
    expiry_years = IntegerField(_l("Years after the year earned (0: the same year end)"),
                                validators=[InputRequired(REQUIRED), NumberRange(min=0, max=10)])
    cash_points_per_yuan = IntegerField(_l("Points for 1 yuan of cash offset"),
                                        validators=[InputRequired(REQUIRED),
                                                    NumberRange(min=1, max=100000)])
    window_days = IntegerField(_l("Tier qualification window (days)"),
                               validators=[InputRequired(REQUIRED),
                                           NumberRange(min=1, max=3650)])
    downgrade_policy = SelectField(_l("Downgrades"), choices=[
        ("never", _l("none: a tier once reached is kept")),
        ("step", _l("one tier per grace period")),
        ("recompute", _l("straight to the tier the figures reach"))],
        validators=[DataRequired(REQUIRED)])
    grace_days = IntegerField(_l("Grace period before a downgrade (days)"),
                              validators=[InputRequired(REQUIRED), NumberRange(min=0, max=3650)])
    card_prefix = StringField(_l("Card number prefix"),
                              validators=[Optional(), Regexp(r"^\d{0,6}$", message=_l(
                                  "Up to 6 digits."))])




class TierForm(FlaskForm):
    version = HiddenField()
    code = StringField(_l("Code"), validators=[DataRequired(REQUIRED), Length(max=20),
                                               Regexp(r"^[a-z0-9_]+$", message=_l(
                                                   "Lower-case letters, digits and _ only."))])
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(REQUIRED), Length(max=50)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=50)])
    rank = IntegerField(_l("Rank (0 is the entry tier)"),
                        validators=[InputRequired(REQUIRED), NumberRange(min=0, max=99)])
    basis = SelectField(_l("Qualifies on"), choices=[
        ("spend", _l("qualifying spend")), ("points", _l("points earned"))])
    threshold = DecimalField(_l("Threshold (yuan of spend, or points)"), places=2,
                             validators=[InputRequired(REQUIRED),
                                         NumberRange(min=0, max=100_000_000)])
    multiplier_pct = IntegerField(_l("Points multiplier (%)"),
                                  validators=[InputRequired(REQUIRED),
                                              NumberRange(min=0, max=1000)])
    discount_pct = IntegerField(_l("Discount (%)"),
                                validators=[InputRequired(REQUIRED), NumberRange(min=0, max=100)])
    birthday_points = IntegerField(_l("Birthday bonus (points)"),
                                   validators=[InputRequired(REQUIRED),
                                               NumberRange(min=0, max=1_000_000)])




class AdminGiftForm(FlaskForm):
    version = HiddenField()
    name = StringField(_l("Name (Chinese)"), validators=[DataRequired(REQUIRED), Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=100)])
    points = IntegerField(_l("Points"), validators=[InputRequired(REQUIRED),
                                                   NumberRange(min=1, max=10_000_000)])
    add_stock = IntegerField(_l("Add to stock (negative to remove)"), default=0,
                             validators=[Optional(), NumberRange(min=-100000, max=100000)])
    active = BooleanField(_l("In the catalogue"), default=True)
