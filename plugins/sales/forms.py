"""The sales pipeline's forms and labels (zh_CN and en through flask-babel)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, IntegerField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FieldError

from .models import KINDS, RULES, SOURCES

KIND_LABELS = {"open": _l("Open"), "won": _l("Won"), "lost": _l("Lost")}
RULE_LABELS = {"amount": _l("an amount"), "close_date": _l("an expected close date"),
               "products": _l("at least one product"), "reason": _l("a won/lost reason")}
SOURCE_LABELS = {"": "—", "referral": _l("Referral"), "website": _l("Website"),
                 "exhibition": _l("Trade fair"), "cold_call": _l("Cold call"),
                 "existing": _l("Existing customer"), "partner": _l("Partner"),
                 "other": _l("Other")}


def labels() -> dict:
    return {"kind_labels": KIND_LABELS, "rule_labels": RULE_LABELS,
            "source_labels": SOURCE_LABELS}


def parse_yuan(text) -> int | None:
    """"12,345.67" or "12345" (yuan) to fen; None when empty; ValueError when not a number."""
    text = (text or "").strip().replace(",", "").replace("，", "").replace("¥", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if value < 0 or value > Decimal("100000000000") or value != value.quantize(Decimal("0.01")):
        raise ValueError(text)
    return int(value * 100)


class YuanField(StringField):
    """An amount typed in yuan (两位小数), stored as integer fen in ``fen``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fen = None

    def pre_validate(self, form):
        try:
            self.fen = parse_yuan(self.data)
        except ValueError:
            self.fen = None
            raise FieldError(_l("Enter an amount in yuan, like 12800 or 12800.50.")) from None


def yuan(fen) -> str:
    if fen is None:
        return ""
    return f"{fen // 100}" if fen % 100 == 0 else f"{fen / 100:.2f}"


class DealForm(FlaskForm):
    title = StringField(_l("Deal title"), validators=[DataRequired(_l("Required.")), Length(max=200)])
    amount = YuanField(_l("Amount (yuan)"))
    expected_close = DateField(_l("Expected close"), validators=[Optional()])
    stage = SelectField(_l("Stage"), choices=[], coerce=int)
    probability = IntegerField(_l("Probability (%)"), validators=[
        Optional(), NumberRange(0, 100, _l("From 0 to 100."))],
        description=_l("Empty: the stage's probability"))
    owner = SelectField(_l("Owner"), choices=[], coerce=int)
    contact = SelectField(_l("Contact"), choices=[("", "—")], default="")
    source = SelectField(_l("Source"), choices=[(s, SOURCE_LABELS[s]) for s in ("",) + SOURCES],
                         default="")
    products = SelectMultipleField(_l("Products"), choices=[], coerce=int)
    reason = TextAreaField(_l("Won/lost reason"), validators=[Optional(), Length(max=2000)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=5000)])
    version = HiddenField()


class MoveForm(FlaskForm):
    stage = SelectField(_l("Move to"), choices=[], coerce=int)
    version = IntegerField(validators=[InputRequired()])
    amount = YuanField(_l("Amount (yuan)"))
    expected_close = DateField(_l("Expected close"), validators=[Optional()])
    reason = TextAreaField(_l("Won/lost reason"), validators=[Optional(), Length(max=2000)])
    back = HiddenField()


class StageForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Required.")), Length(max=50)])
    position = IntegerField(_l("Order"), validators=[InputRequired(_l("Enter a number.")),
                                                     NumberRange(0, 10000)])
    probability = IntegerField(_l("Probability (%)"), validators=[
        InputRequired(_l("Enter a number.")), NumberRange(0, 100, _l("From 0 to 100."))])
    kind = SelectField(_l("Kind"), choices=[(k, KIND_LABELS[k]) for k in KINDS], default="open")
    rules = SelectMultipleField(_l("To enter it, a deal needs"),
                                choices=[(r, RULE_LABELS[r]) for r in RULES])
    stuck_days = IntegerField(_l("Stuck after (days)"), validators=[
        InputRequired(_l("Enter a number.")), NumberRange(0, 3650)],
        description=_l("0: never"))
    active = BooleanField(_l("Shown on the board"), default=True)
    notify_role = SelectField(_l("When a deal enters it, notify"),
                              choices=[("", _l("Nobody")), ("manager", _l("Managers")),
                                       ("admin", _l("Administrators")),
                                       ("service", _l("Service staff"))],
                              default="")
