"""The insights pages: KPIs for a period against the previous one and their targets, broken
down by owner, department or segment, and the lead funnel; the segments, each segment's
customers (and their CSV); the settings of the segment rules and the KPI targets
(administrators); the marketing spend per channel and month (managers and administrators).

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

from . import figures, kpis, segments
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


def _by_key() -> str:
    by = request.args.get("by", "owner")
    return by if by in kpis.BREAKDOWNS else "owner"


def targets() -> dict:
    return {t.kpi: t for t in Target.select()}


def _remember(key: tuple, compute, seconds: int | None = None):
    """``compute()``, kept for ``INSIGHTS_CACHE_SECONDS`` (default 300) under ``key`` in this
    process: the page, the card and the period switch do not run the same aggregates again
    within minutes.  0 turns it off.  ``seconds`` overrides the lifetime (closed periods)."""
    import time
    if seconds is None:
        seconds = int(current_app.config.get("INSIGHTS_CACHE_SECONDS", 300) or 0)
    if seconds <= 0:
        return compute()
    cache = current_app.extensions.setdefault("insights.cache", {})
    hit = cache.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        return hit[1]
    result = compute()
    if len(cache) > 1000:
        cache.clear()
    cache[key] = (now + seconds, result)
    return result


def _forget(kpi_key: str) -> None:
    """Drop the cached figures of one KPI (after the spend changed): this process's and the
    database's (another server process keeps its own in-memory copy until it expires)."""
    cache = current_app.extensions.get("insights.cache") or {}
    for key in [k for k in cache if k and k[0] == kpi_key]:
        cache.pop(key, None)
    figures.forget(kpi_key)


def _cache_key(kpi, user, p, rules, by) -> tuple:
    return (kpi.key, user.id, user.role, p.start, p.end, by, tuple(sorted(rules.items())))


def _known(key: tuple, settled: bool = False) -> bool:
    """Whether ``_remember`` holds a live figure for ``key`` in this process (or, for a
    settled period, the database: figures.py)."""
    import time
    hit = (current_app.extensions.get("insights.cache") or {}).get(key)
    if hit is not None and hit[0] > time.monotonic():
        return True
    return settled and _closed_seconds() > 0 and figures.known(key)


def _closed_seconds() -> int:
    if int(current_app.config.get("INSIGHTS_CACHE_SECONDS", 300) or 0) <= 0:
        return 0
    return int(current_app.config.get("INSIGHTS_CLOSED_CACHE_SECONDS", 6 * 3600) or 0)


def _cached(kpi, user, p, rules, by="owner", present=None):
    """``kpis.compute`` per KPI, user, period and breakdown, kept a few minutes; a settled
    period's figure (closed, and past the lead conversion's window) is kept for
    ``INSIGHTS_CLOSED_CACHE_SECONDS`` (default 6 hours), in this process and in the database
    (figures.py: every process and the next start find it), unless the cache is off."""
    key = _cache_key(kpi, user, p, rules, by)
    seconds = _closed_seconds() if kpis.settled(kpi, p, rules) else 0
    if seconds <= 0:
        return _remember(key, lambda: kpis.compute(kpi, user, p, rules, by, present))

    def from_the_database_or_computed():
        found = figures.load(key, kpi)
        if found is None:
            found = kpis.compute(kpi, user, p, rules, by, present)
            figures.store(key, found, seconds)
        return found
    return _remember(key, from_the_database_or_computed, seconds)


def _row(kpi, user, current, before, rules, by, present, goals, compare, keys) -> dict:
    """One KPI's card: its figure over ``current`` (and ``before``), target and breakdown;
    the breakdown's group ids are added to ``keys`` (their names are read once per page)."""
    result = _cached(kpi, user, current, rules, by, present)
    previous = _cached(kpi, user, before, rules, by, present) if compare else None
    keys.setdefault(result.by, set()).update(result.groups)
    goal = goals.get(kpi.key)
    shown = kpis.display_value(kpi, result.value)
    return {
        "kpi": kpi, "result": result, "value": shown, "by": result.by,
        "previous": kpis.display_value(kpi, previous.value) if previous else None,
        "change": kpis.change(kpi, result.value, previous.value) if previous else None,
        "target": goal,
        "progress": kpis.progress(kpi, shown, goal.value) if goal else None,
        "groups": sorted(((group, kpis.display_value(kpi, v[0]), v[1], v[2])
                          for group, v in result.groups.items()),
                         key=lambda r: (r[3] == 0, -(r[1] or 0)))}


def _funnel_key(user, current, rules) -> tuple:
    return ("funnel", user.id, user.role, current.start, current.end,
            tuple(sorted(rules.items())))


def _funnel(user, current, rules, present):
    return _remember(_funnel_key(user, current, rules),
                     lambda: kpis.funnel(user, current, rules, present))


def _periods(key: str, now: dt.datetime) -> tuple:
    """The period ``key`` and the one before it (the comparison)."""
    return (kpis.period(key, _tz(), now), kpis.period(key, _tz(), now, previous=True))


def board(user, key: str, compare: bool = True, now: dt.datetime | None = None,
          by: str = "owner", with_funnel: bool = False, lazy: bool = False) -> dict:
    """Every available KPI for ``user`` over the period ``key`` (and the previous one),
    broken down ``by`` owner, department or segment (the acquisition cost by channel).

    ``lazy``: a KPI (or the funnel) whose figures this process does not hold yet is left
    ``pending``: the page then loads its card by a request of its own (``/insights/kpi``), so
    that it shows at once and fills in, the cards computed side by side by the server's
    threads, instead of answering after the sum of every aggregate (seconds at 100,000
    customers: docs/insights.md)."""
    now = now or utcnow()
    rules = segments.settings()
    current, before = _periods(key, now)
    goals = targets()
    present = kpis.tables()
    rows, keys = [], {}
    for kpi in kpis.available(present, user):
        if lazy and not (
                _known(_cache_key(kpi, user, current, rules, by), kpis.settled(kpi, current, rules))
                and (not compare or _known(_cache_key(kpi, user, before, rules, by),
                                           kpis.settled(kpi, before, rules)))):
            rows.append({"kpi": kpi, "pending": True})
            continue
        rows.append(_row(kpi, user, current, before, rules, by, present, goals, compare, keys))
    funnel, funnel_pending = None, False
    if with_funnel:
        if lazy and not _known(_funnel_key(user, current, rules)):
            funnel_pending = True
        else:
            funnel = _funnel(user, current, rules, present)
    return {"rows": rows, "period": current, "before": before, "by": by, "funnel": funnel,
            "funnel_pending": funnel_pending,
            "names": {b: kpis.group_names(b, k) for b, k in keys.items()},
            "days": rules["lead_conversion_days"]}


def warm(now: dt.datetime | None = None) -> int:
    """Compute the settled figures of the last two months (the KPI page's "last month" and
    the comparison of "this month") for every active administrator and manager, ahead of
    their first visit; the nightly job calls it.  Returns how many users."""
    from crm.accounts.models import User
    if _closed_seconds() <= 0:
        return 0
    figures.purge_expired()
    users = list(User.select().where(User.is_active & User.role.in_(("admin", "manager"))))
    for user in users:
        board(user, "last_month", now=now)
    return len(users)


def _labels() -> dict:
    return {"segment_labels": segments.SEGMENT_LABELS, "period_labels": kpis.PERIOD_LABELS,
            "segment_order": segments.SEGMENTS, "by_labels": kpis.BREAKDOWN_LABELS,
            "funnel_labels": kpis.FUNNEL_LABELS}


def kpi_card(user) -> str:
    """The dashboard card: this month's KPIs and their targets (no comparison: cheap)."""
    return render_template("insights/_card_kpis.html", data=board(user, "month", compare=False),
                           **_labels())


@bp.route("")
def index():
    """The KPI page.  Through htmx (a link of the menu, the period switch, going back) the
    cards not computed yet are loaded one by one after the page (``board(lazy=True)``);
    a plain request (no JavaScript, or a reload) gets every figure in the page itself."""
    access.require(current_user, "insights.view")
    key, by = _period_key(), _by_key()
    return render("insights/index.html", {"kpis": "insights/_kpis.html"},
                  data=board(current_user, key, by=by, with_funnel=True,
                             lazy=bool(getattr(request, "htmx", None))),
                  key=key, by=by, periods=kpis.PERIODS, breakdowns=kpis.BREAKDOWNS,
                  may_spend=_may_spend(), **_labels())


@bp.route("/kpi")
def kpi_card_page():
    """One KPI's card (``?kpi=churn&period=month&by=owner``): what a pending card of the KPI
    page loads; without htmx, a page of its own."""
    access.require(current_user, "insights.view")
    key, by = _period_key(), _by_key()
    present = kpis.tables()
    found = next((k for k in kpis.available(present, current_user)
                  if k.key == request.args.get("kpi")), None)
    if found is None:
        abort(404)
    rules = segments.settings()
    current, before = _periods(key, utcnow())
    keys: dict = {}
    row = _row(found, current_user, current, before, rules, by, present, targets(), True, keys)
    return render("insights/kpi.html", {"*": "insights/_kpi_card.html"}, row=row,
                  names={b: kpis.group_names(b, k) for b, k in keys.items()}, key=key, by=by,
                  may_spend=_may_spend(), **_labels())


@bp.route("/funnel")
def funnel_page():
    """The lead funnel of a period (``?period=month``): what the KPI page loads after itself."""
    access.require(current_user, "insights.view")
    key = _period_key()
    rules = segments.settings()
    current = kpis.period(key, _tz(), utcnow())
    funnel = _funnel(current_user, current, rules, kpis.tables())
    return render("insights/funnel.html", {"*": "insights/_funnel.html"}, funnel=funnel,
                  days=rules["lead_conversion_days"], key=key, **_labels())


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
    days, series = segments.timeline(history)
    return render("insights/segments.html", sizes=segments.sizes(current_user),
                  history=history, days=[d.isoformat() for d in days], series=series,
                  computed=computed,
                  rules=segments.settings(), **_labels())


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


# -- marketing spend (managers and administrators) --------------------------------------------

def _may_spend() -> bool:
    return access.can(current_user, "insights.spend") or \
        access.can(current_user, "insights.admin")


def _require_spend() -> None:
    if not _may_spend():
        abort(403)


def _spend_page(form, status: int = 200):
    from . import spend as spending
    page_size = current_app.config["PAGE_SIZE"]
    page = max(1, request.args.get("page", 1, type=int) or 1)
    rows, total = spending.entries(page, page_size)
    pages = max(1, -(-total // page_size))
    return render("insights/spend.html", {"spend-form": "insights/_spend_form.html",
                                          "spend-list": "insights/_spend_list.html"},
                  form=form, rows=rows, total=total, page=page, pages=pages,
                  channel_label=kpis.channel_label, status=status)


def _form_for(entry):
    from .forms import SpendForm
    return SpendForm(formdata=None, data={
        "id": str(entry.id), "version": str(entry.version), "channel": entry.channel,
        "month": entry.month.strftime("%Y-%m") if entry.month else "",
        "amount": Decimal(entry.amount_fen) / 100, "note": entry.note})


@bp.route("/spend", methods=["GET", "POST"])
def spend():
    """The marketing spend per channel and month: the list, and the form to add an entry or,
    with ``?edit=<id>``, to change one.  POST saves (303) or answers 422 with the errors."""
    from . import spend as spending
    from .forms import SpendForm
    _require_spend()
    if request.method == "GET":
        edit = request.args.get("edit", type=int)
        if edit:
            entry = spending.get(edit)
            if entry is None:
                abort(404)
            return _spend_page(_form_for(entry))
        return _spend_page(SpendForm(formdata=None))
    form = SpendForm()
    if not form.validate_on_submit():
        return _spend_page(form, 422)
    args = (form.channel.data, form.month_value, form.amount_fen,
            (form.note.data or "").strip())
    try:
        if form.id.data:
            try:
                entry_id, version = int(form.id.data), int(form.version.data or 0)
            except ValueError:
                abort(400)
            spending.update(entry_id, version, *args, current_user)
        else:
            spending.create(*args, current_user)
        _forget("cac")
    except spending.Duplicate:
        form.month.errors = [_("There is already an entry for this channel and month: "
                               "change that one.")]
        return _spend_page(form, 422)
    except spending.Conflict:
        entry = spending.get(int(form.id.data))
        fresh = _form_for(entry) if entry else SpendForm(formdata=None)
        fresh.form_errors.append(_("Somebody changed or deleted this entry meanwhile. Here is "
                                   "what it is now; please check and try again."))
        return _spend_page(fresh, 409)
    flash(_("Marketing spend saved."), "success")
    return see_other(url_for("insights.spend"))


@bp.route("/spend/delete", methods=["POST"])
def spend_delete():
    from . import spend as spending
    _require_spend()
    try:
        entry_id = int(request.form.get("id", ""))
        version = int(request.form.get("version", ""))
    except ValueError:
        abort(404)        # no entry named: nothing to delete (as a wrong id)
    try:
        spending.delete(entry_id, version, current_user)
    except spending.Conflict:
        flash(_("Somebody changed or deleted this entry meanwhile: nothing was deleted."),
              "error")
    else:
        _forget("cac")
        flash(_("Marketing spend deleted."), "success")
    return see_other(url_for("insights.spend"))
