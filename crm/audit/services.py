"""Writing the audit trail."""
from __future__ import annotations

from flask import has_request_context, request

from crm.audit.models import AuditLog


def _ip() -> str:
    return (request.remote_addr or "") if has_request_context() else ""


def record(action: str, user=None, entity: str = "", entity_id=None, changes=None) -> None:
    """One row per changed field (``changes``: iterable of (field, old, new)), else one row."""
    user_id = getattr(user, "id", None)
    rows = [dict(action=action, user=user_id, entity=entity, entity_id=entity_id,
                 field=f, old=_text(old), new=_text(new), ip=_ip())
            for f, old, new in (changes or [])]
    if not rows:
        rows = [dict(action=action, user=user_id, entity=entity, entity_id=entity_id, ip=_ip())]
    AuditLog.insert_many(rows).execute()


def _text(value) -> str:
    if value is None:
        return ""
    return str(value)


def history(entity: str, entity_id: int, limit: int = 50):
    return (AuditLog.select().where((AuditLog.entity == entity) & (AuditLog.entity_id == entity_id))
            .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit))
