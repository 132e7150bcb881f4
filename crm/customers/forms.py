from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from crm.customers.models import CHANNELS, KINDS, SIZES, VALUE_CLASSES
from crm.i18n import _l
from crm.validation import Email, Phone, check_company_name

KIND_LABELS = {"company": _l("Company"), "person": _l("Person")}
CHANNEL_LABELS = {"phone": _l("Phone"), "sms": _l("SMS"), "wechat": _l("WeChat"),
                  "email": _l("E-mail"), "visit": _l("Visit")}
VALUE_LABELS = {"A": _l("A (key)"), "B": _l("B (important)"), "C": _l("C (regular)"),
                "D": _l("D (low)")}
SOURCE_LABELS = {"": "—", "walk_in": _l("Walk-in"), "referral": _l("Referral"),
                 "website": _l("Website"), "exhibition": _l("Exhibition"),
                 "cold_call": _l("Cold call"), "wechat": _l("WeChat"), "partner": _l("Partner"),
                 "other": _l("Other")}


class CustomerForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=[(k, KIND_LABELS[k]) for k in KINDS], default="company")
    name = StringField(_l("Name"), validators=[DataRequired(_l("Required.")), Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Optional(), Phone()])
    email = StringField(_l("E-mail"), validators=[Optional(), Email()])
    industry = StringField(_l("Industry"), validators=[Length(max=100)])
    size = SelectField(_l("Size"), choices=[("", "—")] + [(s, s) for s in SIZES], default="")
    region = StringField(_l("Region"), validators=[Length(max=100)])
    founded_on = DateField(_l("Founded on"), validators=[Optional()])
    value_class = SelectField(_l("Value class"),
                              choices=[(v, VALUE_LABELS[v]) for v in VALUE_CLASSES], default="C")
    owner = SelectField(_l("Owner"), coerce=int, validate_choice=True)
    source = SelectField(_l("Source"), choices=list(SOURCE_LABELS.items()), default="")
    preferred_channel = SelectField(_l("Preferred channel"),
                                    choices=[("", "—")] + [(c, CHANNEL_LABELS[c]) for c in CHANNELS],
                                    default="")
    address = StringField(_l("Address"), validators=[Length(max=300)])
    tags = StringField(_l("Tags"), description=_l("Separated by commas"),
                       validators=[Length(max=300)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])
    consent_phone = BooleanField(_l("Calls"))
    consent_sms = BooleanField(_l("SMS"))
    consent_email = BooleanField(_l("E-mail"))
    consent_wechat = BooleanField(_l("WeChat"))
    version = HiddenField()

    def validate_name(self, field):
        field.data = (field.data or "").strip()
        if self.kind.data == "company":
            try:
                check_company_name(field.data)
            except ValueError as exc:
                raise ValidationError(str(exc.args[0])) from None


class ContactForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Required.")), Length(max=100)])
    title = StringField(_l("Title"), validators=[Length(max=100)])
    mobile = StringField(_l("Mobile"), validators=[Optional(), Phone()])
    phone = StringField(_l("Landline"), validators=[Optional(), Phone()])
    email = StringField(_l("E-mail"), validators=[Optional(), Email()])
    wechat = StringField(_l("WeChat ID"), validators=[Length(max=64)])
    preferred_channel = SelectField(_l("Preferred channel"),
                                    choices=[("", "—")] + [(c, CHANNEL_LABELS[c]) for c in CHANNELS],
                                    default="")
    consent_phone = BooleanField(_l("Calls"))
    consent_sms = BooleanField(_l("SMS"))
    consent_email = BooleanField(_l("E-mail"))
    consent_wechat = BooleanField(_l("WeChat"))
    is_primary = BooleanField(_l("Primary contact"))
    version = HiddenField()


class TagForm(FlaskForm):
    name = StringField(_l("Tag"), validators=[DataRequired(_l("Required.")), Length(max=50)])
