"""NPS and CSAT surveys as signed short links (no Flask request needed except the secret key).

A survey is a row (customer, kind, expiry); its link carries ``itsdangerous``'s signature of
the row's id, so it cannot be guessed or altered.  It is answered once: the answer is an
``UPDATE ... WHERE answered_at IS NULL AND expires_at > now``, so two submissions of the same
link (two tabs, a double click, a forwarded message) record only the first.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from crm.db import database, utcnow

from .models import Survey

KINDS = ("nps", "csat")
SCALES = {"nps": range(0, 11), "csat": range(1, 6)}
SALT = "insights.survey"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(survey: Survey) -> str:
    return _serializer().dumps(survey.id)


def create(customer_id: int, user_id: int | None, kind: str, days: int = 14,
           now: dt.datetime | None = None) -> Survey:
    if kind not in KINDS:
        raise ValueError(f"unknown survey kind {kind!r}")
    now = now or utcnow()
    with database.atomic():
        return Survey.create(customer=customer_id, kind=kind, created_by=user_id,
                             created_at=now, expires_at=now + dt.timedelta(days=days))


def open_token(token: str, now: dt.datetime | None = None) -> tuple[Survey | None, str]:
    """(survey, state): state is ok, invalid (bad or unknown token), expired or answered."""
    now = now or utcnow()
    try:
        survey_id = _serializer().loads(token or "")
    except BadSignature:
        return None, "invalid"
    if not isinstance(survey_id, int):
        return None, "invalid"
    survey = Survey.get_or_none(Survey.id == survey_id)
    if survey is None:
        return None, "invalid"
    if survey.answered_at is not None:
        return survey, "answered"
    if survey.expires_at <= now:
        return survey, "expired"
    return survey, "ok"


def answer(survey: Survey, score: int, comment: str, now: dt.datetime | None = None) -> bool:
    """Record the answer if the survey is still open; False when it was answered (or expired)
    meanwhile."""
    now = now or utcnow()
    if score not in SCALES[survey.kind]:
        raise ValueError("score out of range")
    with database.atomic():
        return bool(Survey.update(answered_at=now, score=score, comment=(comment or "")[:1000])
                    .where((Survey.id == survey.id) & Survey.answered_at.is_null()
                           & (Survey.expires_at > now)).execute())


def recent(customer_id: int, limit: int = 5) -> list[Survey]:
    return list(Survey.select().where(Survey.customer == customer_id)
                .order_by(Survey.created_at.desc(), Survey.id.desc()).limit(limit))
