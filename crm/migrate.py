"""Numbered migrations, one history per owner: the core and each plugin.

Built on ``playhouse.migrations``: a migration is a script ``NNNN_name.py`` with
``up(migrator, db)``; each owner keeps its own history table ``migrations_<owner>``.  New
migrations are written with ``crm migrations new OWNER NAME`` (a skeleton) or generated from the
models with ``python -m playhouse.migrations generate`` (see docs/operations.md).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from playhouse.migrations import Runner

from crm.db import database

CORE_DIRECTORY = os.path.join(os.path.dirname(__file__), "migrations")


@dataclass(frozen=True)
class MigrationSet:
    owner: str
    directory: str


def runner_for(migration_set: MigrationSet) -> Runner:
    return Runner(database.obj, directory=migration_set.directory,
                  table_name=f"migrations_{migration_set.owner}")


def all_sets(app) -> list[MigrationSet]:
    sets = [MigrationSet("core", CORE_DIRECTORY)]
    seen = {"core"}
    for _plugin, result in app.extensions["crm.plugins"].call_all("crm_register_migrations"):
        for item in (result or []):
            if item.owner in seen:
                raise RuntimeError(f"two migration histories are named {item.owner!r}")
            seen.add(item.owner)
            sets.append(item)
    return sets


def upgrade(app) -> dict[str, list[str]]:
    """Apply every pending migration, core first, then plugins in load order."""
    applied = {}
    with database.connection_context():
        for mset in all_sets(app):
            applied[mset.owner] = runner_for(mset).up()
    return applied


def status(app) -> dict[str, list]:
    with database.connection_context():
        return {mset.owner: runner_for(mset).status() for mset in all_sets(app)}
