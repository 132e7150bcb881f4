"""One job mechanism for the whole product: huey.

Storage: SQLite in the instance folder (the embedded default), Redis when ``REDIS_URL`` is set,
in-memory and immediate when ``JOBS_IMMEDIATE`` (tests).  ``crm serve`` runs a worker beside the
web server; at scale run ``crm worker`` separately.  Plugins add tasks with
``crm_register_jobs(huey, app)``.
"""
from __future__ import annotations

import os

from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab

from crm.db import database


def make_huey(app):
    if app.config["JOBS_IMMEDIATE"]:
        return MemoryHuey("crm", immediate=True)
    if app.config.get("REDIS_URL"):
        return RedisHuey("crm", url=app.config["REDIS_URL"])
    os.makedirs(app.instance_path, exist_ok=True)
    return SqliteHuey("crm", filename=os.path.join(app.instance_path, "jobs.db"))


def in_app(app, fn):
    """Wrap a task body: app context plus a database connection for its duration."""
    def wrapper(*args, **kwargs):
        with app.app_context():
            opened = database.is_closed()
            if opened:
                database.connect()
            try:
                return fn(*args, **kwargs)
            finally:
                if opened:
                    database.close()
    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    return wrapper


def init_app(app) -> None:
    from crm.events import services as events

    huey = make_huey(app)
    app.extensions["crm.huey"] = huey
    host = app.extensions["crm.plugins"]

    def dispatch_outbox():
        return events.dispatch_pending(host, app.config["OUTBOX_MAX_ATTEMPTS"])

    tasks = {
        "dispatch_outbox": huey.task(name="crm.dispatch_outbox")(in_app(app, dispatch_outbox)),
        "retry_outbox": huey.periodic_task(crontab(minute="*"), name="crm.retry_outbox")(
            in_app(app, dispatch_outbox)),
    }
    if app.config.get("BACKUP_SCHEDULE", "daily") == "daily":
        from crm.backups import services as backups
        # BACKUP_AT is UTC, as huey's crontab: 19:30 UTC is 03:30 in China
        hour, minute = (app.config.get("BACKUP_AT") or "19:30").split(":")
        tasks["backup"] = huey.periodic_task(crontab(hour=str(int(hour)), minute=str(int(minute))),
                                             name="crm.backup")(
            lambda: backups.take(app))
    from crm.tasks import rules
    # REMINDERS_AT is UTC, as huey's crontab: 00:15 UTC is 08:15 in China
    hour, minute = (app.config.get("REMINDERS_AT") or "00:15").split(":")
    tasks["reminders"] = huey.periodic_task(crontab(hour=str(int(hour)), minute=str(int(minute))),
                                            name="crm.reminders")(
        in_app(app, lambda: rules.run_all(app.config)))
    from crm import db
    tasks["optimize"] = huey.periodic_task(crontab(hour="20", minute="15"), name="crm.optimize")(
        in_app(app, db.optimize))        # 04:15 in China, after the backup
    app.extensions["crm.tasks"] = tasks
    host.call_all("crm_register_jobs", huey=huey, app=app)

    @app.after_request
    def _kick_outbox(response):
        from flask import g
        if g.pop("outbox_dirty", False):
            try:
                tasks["dispatch_outbox"]()
            except Exception:  # noqa: BLE001 - the periodic retry will deliver it
                app.logger.exception("could not enqueue outbox dispatch")
        return response
