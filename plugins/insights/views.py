"""The insights pages: KPIs for a period against the previous one and their targets, broken
down by owner; the segments, each segment's customers (and their CSV); the settings of the
segment rules and the KPI targets (administrators).

Every figure starts from ``crm.access.scoped_customers(current_user)``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import (Blueprint, Response, abort, current_app, flash, render_template, request,
                   url_for)
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required

from crm import access
from crm.db import database, utcnow
from crm.web.htmx import render, see_other

from . import kpis, segments
from .models import Target

bp = Blueprint("insights", __name__, url_prefix="/insights", template_folder="templates")


@bp.before_request
@login_required
def _signed_in():
    return None


def _tz() -> str:
    return str(get_timezone())


def _period_key() -> str:
    key = request.args.get("period", "month")
    return key if key in kpis.PERIODS else "month"


def targets() -> dict:
    return {t.kpi: t for t in Target.select()}


def _cached(kpi, user, p, rules):
    """``kpis.compute``, kept for ``INSIGHTS_CACHE_SECONDS`` (default 300) per KPI, user and
    period in this process: the page, the card and the period switch do not run the same
    aggregates again within minutes.  0 turns it off."""
    import time
    seconds = int(current_app.config.get("INSIGHTS_CACHE_SECONDS", 300) or 0)
    if seconds <= 0:
        return kpis.compute(kpi, user, p, rules)
    cache = current_app.extensions.setdefault("insights.cache", {})
    key = (kpi.key, user.id, user.role, p.start, p.end, tuple(sorted(rules.items())))
    hit = cache.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    result = kpis.compute(kpi, user, p, rules)
    if len(cache) > 1000:
        cache.clear()
    cache[key] = (now + seconds, result)
    return result


def board(user, key: str, compare: bool = True, now: dt.datetime | None = None) -> dict:
    """Every available KPI for ``user`` over the period ``key`` (and the previous one)."""
    now = now or utcnow()
    rules = segments.settings()
    current = kpis.period(key, _tz(), now)
    before = kpis.period(key, _tz(), now, previous=True)
    goals = targets()
    rows, owners = [], set()
    for kpi in kpis.available():
        result = _cached(kpi, user, current, rules)
        previous = _cached(kpi, user, before, rules) if compare else None
        owners.update(result.by_owner)
        goal = goals.get(kpi.key)
        shown = kpis.display_value(kpi, result.value)
        rows.append({
            "kpi": kpi, "result": result, "value": shown,
            "previous": kpis.display_value(kpi, previous.value) if previous else None,
            "change": kpis.change(kpi, result.value, previous.value) if previous else None,
            "target": goal,
            "progress": kpis.progress(kpi, shown, goal.value) if goal else None,
            "by_owner": sorted(((owner, kpis.display_value(kpi, v[0]), v[1], v[2])
                                for owner, v in result.by_owner.items()),
                               key=lambda r: (r[3] == 0, -(r[1] or 0)))})
    return {"rows": rows, "period": current, "before": before,
            "names": kpis.owner_names(owners)}


def _labels() -> dict:
    return {"segment_labels": segments.SEGMENT_LABELS, "period_labels": kpis.PERIOD_LABELS,
            "segment_order": segments.SEGMENTS}


def kpi_card(user) -> str:
    """The dashboard card: this month's KPIs and their targets (no comparison: cheap)."""
    return render_template("insights/_card_kpis.html", data=board(user, "month", compare=False),
                           **_labels())


@bp.route("")
def index():
    access.require(current_user, "insights.view")
    key = _period_key()
    return render("insights/index.html", {"kpis": "insights/_kpis.html"},
                  data=board(current_user, key), key=key, periods=kpis.PERIODS, **_labels())


# -- segments ---------------------------------------------------------------------------------

@bp.route("/segments")
def segments_index():
    access.require(current_user, "insights.view")
    today = utcnow().date()
    history = segments.history(current_user, 90, today)
    computed = (segments.scored(current_user).select(segments.CustomerScore.computed_at)
                .order_by(segments.CustomerScore.computed_at.desc()).limit(1).scalar())
    if isinstance(computed, str):
        computed = dt.datetime.fromisoformat(computed)
    return render("insights/segments.html", sizes=segments.sizes(current_user),
                  history=history, computed=computed, rules=segments.settings(), **_labels())


def _segment_or_404(segment: str) -> str:
    access.require(current_user, "insights.view")
    if segment not in segments.SEGMENTS:
        abort(404)
    return segment


@bp.route("/segments/<segment>")
def segment(segment: str):
    segment = _segment_or_404(segment)
    query = segments.members(current_user, segment)
    page_size = current_app.config["PAGE_SIZE"]
    total = query.count()
    pages = max(1, -(-total // page_size))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = list(query.paginate(page, page_size).objects())
    rules = segments.settings()
    for row in rows:
        row.reason_text = segments.reason_text(row, rules)
    return render("insights/segment.html", {"results": "insights/_members.html"},
                  segment=segment, rows=rows, total=total, page=page, pages=pages,
                  may_export=access.can(current_user, "customer.export"), **_labels())


@bp.route("/segments/<segment>/export.csv")
def segment_export(segment: str):
    segment = _segment_or_404(segment)
    access.require(current_user, "customer.export")
    from crm.exports.services import csv_chunks
    rules = segments.settings()
    query = segments.members(current_user, segment).objects()
    label = str(segments.SEGMENT_LABELS[segment])

    def table():
        yield [_("Customer number"), _("Customer"), _("Owner"), _("Segment"), "R", "F", "M",
               _("Purchases"), _("Spent (yuan)"), _("Last purchase"), _("Reason")]
        for row in query.iterator():
            yield [row.number, row.name, row.display_name or row.username or "", label,
                   row.r, row.f, row.m, row.purchases, f"{row.monetary_fen / 100:.2f}",
                   str(row.last_purchase_at or "")[:10], segments.reason_text(row, rules)]

    response = Response("".join(csv_chunks(table())), mimetype="text/csv")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="segment-{segment}-{utcnow().date().isoformat()}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/refresh", methods=["POST"])
def refresh():
    access.require(current_user, "insights.admin")
    current_app.extensions["insights.tasks"]["refresh"]()
    flash(_("The segments are being recomputed."), "success")
    return see_other(url_for("insights.segments_index"))


# -- settings and targets (administrators) ----------------------------------------------------

@bp.route("/settings", methods=["GET", "POST"])
def settings():
    access.require(current_user, "insights.admin")
    values, errors = dict(segments.settings()), {}
    if request.method == "POST":
        for key, (_label, low, high) in segments.SETTING_LABELS.items():
            raw = (request.form.get(key) or "").strip()
            try:
                number = int(raw)
            except ValueError:
                errors[key] = _("Enter a whole number.")
                values[key] = raw
                continue
            if not low <= number <= high:
                errors[key] = _("Between %(low)s and %(high)s.", low=low, high=high)
            values[key] = number
        if not errors:
            segments.save_settings(values)
            flash(_("Rules saved. They apply from the next refresh."), "success")
            return see_other(url_for("insights.settings"))
    return render("insights/settings.html", values=values, errors=errors,
                  fields=segments.SETTING_LABELS, status=422 if errors else 200)


@bp.route("/targets", methods=["GET", "POST"])
def targets_page():
    access.require(current_user, "insights.admin")
    current = targets()
    values = {k.key: {"value": str(current[k.key].value) if k.key in current else "",
                      "deadline": current[k.key].deadline.isoformat()
                      if k.key in current and current[k.key].deadline else ""}
              for k in kpis.KPIS}
    errors: dict = {}
    if request.method == "POST":
        parsed = {}
        for kpi in kpis.KPIS:
            raw = (request.form.get(f"value_{kpi.key}") or "").strip()
            day = (request.form.get(f"deadline_{kpi.key}") or "").strip()
            values[kpi.key] = {"value": raw, "deadline": day}
            if not raw:
                parsed[kpi.key] = None
                continue
            try:
                number = Decimal(raw)
                if not number.is_finite() or number < 0 or number >= Decimal("1e12"):
                    raise InvalidOperation
                number = number.quantize(Decimal("0.01"))
            except (InvalidOperation, ValueError):
                errors[kpi.key] = _("Enter a number, 0 or more.")
                continue
            deadline = None
            if day:
                try:
                    deadline = dt.date.fromisoformat(day)
                except ValueError:
                    errors[kpi.key] = _("Enter a date as YYYY-MM-DD.")
                    continue
            parsed[kpi.key] = (number, deadline)
        if not errors:
            now = utcnow()
            with database.atomic():
                for key, value in parsed.items():
                    if value is None:
                        Target.delete().where(Target.kpi == key).execute()
                        continue
                    (Target.insert(kpi=key, value=value[0], deadline=value[1], updated_at=now)
                     .on_conflict(conflict_target=[Target.kpi],
                                  update={Target.value: value[0], Target.deadline: value[1],
                                          Target.updated_at: now})
                     .execute())
            flash(_("Targets saved."), "success")
            return see_other(url_for("insights.targets_page"))
    return render("insights/targets.html", kpis=kpis.KPIS, values=values, errors=errors,
                  status=422 if errors else 200)


# -- surveys ----------------------------------------------------------------------------------

@bp.route("/customers/<int:customer_id>/surveys", methods=["POST"])
def send_survey(customer_id: int):
    from . import surveys
    customer = access.get_customer_or_404(current_user, customer_id)
    access.require(current_user, "insights.survey", customer)
    kind = request.form.get("kind", "nps")
    if kind not in surveys.KINDS:
        abort(400)
    survey = surveys.create(customer.id, current_user.id, kind)
    flash(_("Survey link made; send it to the customer: %(url)s",
            url=url_for("insights_public.survey", t=surveys.token_for(survey), _external=True)),
          "success")
    return see_other(url_for("customers.detail", customer_id=customer.id))


public = Blueprint("insights_public", __name__, url_prefix="/insights",
                   template_folder="templates")


@public.route("/survey", methods=["GET", "POST"])
def survey():
    """The customer's tiny page: no sign-in, no JavaScript; one answer per link."""
    from . import surveys
    token = request.values.get("t", "")[:200]
    found, state = surveys.open_token(token)
    error = ""
    if request.method == "POST" and state == "ok":
        try:
            score = int(request.form.get("score", ""))
            if score not in surveys.SCALES[found.kind]:
                raise ValueError
        except ValueError:
            error = _("Please choose a score.")
        else:
            if surveys.answer(found, score, request.form.get("comment", "")):
                return see_other(url_for("insights_public.survey", t=token))
            found, state = surveys.open_token(token)
    status = {"ok": 422 if error else 200, "answered": 200, "expired": 410}.get(state, 404)
    response = render("insights/survey.html", survey=found, state=state, token=token,
                      error=error, scale=list(surveys.SCALES[found.kind]) if found else [],
                      status=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
