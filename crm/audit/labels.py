"""Human words for what the audit trail stores as codes (actions and field names)."""
from crm.i18n import _l

ACTION_LABELS = {
    "create": _l("created"), "update": _l("changed"), "delete": _l("deleted"),
    "restore": _l("restored"), "login": _l("signed in"), "login_failed": _l("sign-in failed"),
    "password_changed": _l("password changed"), "user_created": _l("user created"),
    "user_changed": _l("user changed"),
}

FIELD_LABELS = {
    "kind": _l("Type"), "name": _l("Name"), "phone": _l("Phone"), "email": _l("E-mail"),
    "industry": _l("Industry"), "size": _l("Size"), "region": _l("Region"),
    "founded_on": _l("Founded on"), "value_class": _l("Value class"), "owner": _l("Owner"),
    "source": _l("Source"), "preferred_channel": _l("Preferred channel"),
    "address": _l("Address"), "notes": _l("Notes"), "tags": _l("Tags"),
    "consent_phone": _l("Consent to calls"), "consent_sms": _l("Consent to SMS"),
    "consent_email": _l("Consent to e-mail"), "consent_wechat": _l("Consent to WeChat"),
    "title": _l("Title"), "mobile": _l("Mobile"), "wechat": _l("WeChat ID"),
    "is_primary": _l("Primary contact"), "role": _l("Role"), "is_active": _l("Active"),
    "department": _l("Department"), "password": _l("Password"), "username": _l("Username"),
}
