"""The migrations make what the models declare: every index of every model (core and the
first-party plugins) exists after ``migrate.upgrade``.  (Two list indexes of Customer were
declared in the model but made by no migration until 0007: the model is what a reader trusts.)"""
from __future__ import annotations

import pytest
from peewee import Model

from crm.db import database, is_postgres


@pytest.fixture
def plugins():
    from plugins.loyalty import hooks as loyalty
    from plugins.needs import hooks as needs
    from plugins.sales import hooks as sales
    from plugins.service import hooks as service
    return [loyalty, sales, service, needs]


def _models(app) -> list:
    import crm.models
    from crm.customers import models as customers
    from crm.imports import models as imports
    from crm.purchases import models as purchases
    from crm.notifications.models import Notification
    from crm.tasks.models import Task
    found = list(crm.models.CORE_MODELS) + [Task, Notification]
    for module in (customers, imports, purchases):
        found += [v for v in vars(module).values() if isinstance(v, type)
                  and issubclass(v, Model) and v.__module__ == module.__name__]
    for _plugin, models in app.extensions["crm.plugins"].call_all("crm_register_models"):
        found += list(models or [])
    return list(dict.fromkeys(found))


def test_every_declared_index_exists(app, db):
    missing = []
    models = _models(app)
    assert len(models) > 30
    for model in models:
        if getattr(model, "POSTGRES_ONLY", False) and not is_postgres():
            assert model._meta.table_name not in database.get_tables()
            continue
        table = model._meta.table_name
        present = {tuple(index.columns) for index in database.get_indexes(table)}
        for index in model._meta.fields_to_index():
            columns = tuple(getattr(e, "column_name", str(e)) for e in index._expressions)
            if columns not in present:
                missing.append(f"{table}{columns}")
    assert missing == []

