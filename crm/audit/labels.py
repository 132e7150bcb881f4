"""Human words for what the audit trail stores as codes (actions, entities and field names).

Any code without a label here (a plugin's action, say) is shown as it is stored: the audit page
renders every row generically.
"""
from crm.i18n import _l

ACTION_LABELS = {
    "create": _l("created"), "update": _l("changed"), "delete": _l("deleted"),
    "restore": _l("restored"), "login": _l("signed in"), "login_failed": _l("sign-in failed"),
    "login_throttled": _l("sign-in refused (too many failures)"), "logout": _l("signed out"),
    "session_expired": _l("session ended"),
    "password_changed": _l("password changed"), "user_created": _l("user created"),
    "user_changed": _l("user changed"),
    "customer.reveal": _l("revealed a sensitive value"), "customer.share": _l("shared"),
    "customer.unshare": _l("sharing ended"), "customer.reassign": _l("reassigned"),
    "import": _l("imported"), "export": _l("exported"), "customer.export": _l("exported"),
    "task.bulk_create": _l("follow-up tasks created in bulk"),
    "purchase.refund": _l("purchase refunded"),
}

ENTITY_LABELS = {
    "customer": _l("Customer"), "contact": _l("Contact"), "user": _l("User"),
    "product": _l("Product"), "purchase": _l("Purchase"), "activity": _l("Activity"),
    "department": _l("Department"),
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
    "reason": _l("Reason"), "purchase": _l("Purchase"), "amount": _l("Amount"),
    "status": _l("Status"),
}

# Values of a few fields, stored as codes.
REASON_LABELS = {
    "idle": _l("no activity for too long"), "max_age": _l("signed in for too long"),
    "password": _l("the password was changed"), "unknown": _l("an old session"),
}
BOOLEAN_LABELS = {"True": _l("yes"), "False": _l("no")}
STATUS_LABELS = {"completed": _l("Completed"), "refunded": _l("Refunded")}   # purchases


def display_value(field: str, value: str):
    """A stored old/new value as people read it (role codes, yes/no, reasons); else as stored."""
    if field == "role":
        from crm.admin.forms import ROLE_LABELS
        return ROLE_LABELS.get(value, value)
    if field == "reason":
        return REASON_LABELS.get(value, value)
    if field == "status":
        return STATUS_LABELS.get(value, value)
    if value in BOOLEAN_LABELS:
        return BOOLEAN_LABELS[value]
    return value
