"""The import's background tasks on the app's huey (crm/jobs.py), registered when the imports
blueprint is registered on an app, so the web app and ``crm worker`` both know them.  With
``JOBS_IMMEDIATE`` (tests) they run inline."""
from __future__ import annotations

from crm.jobs import in_app


def register(app) -> None:
    from crm.imports import services, undo
    huey = app.extensions["crm.huey"]
    app.extensions["crm.imports.tasks"] = {
        "run": huey.task(name="crm.imports.run")(in_app(app, services.run)),
        "undo": huey.task(name="crm.imports.undo")(in_app(app, undo.run)),
    }
