"""Pinned notes (1.1): a second migration of the same history, as a plugin's schema evolves.

Generated against a database at 0001 with `python -m playhouse.migrations instance/crm.db generate
-d tests/plugins/example_plugin/migrations -t migrations_example note_pinned
tests.plugins.example_plugin.models:MODELS`.
"""
from peewee import BooleanField


def up(migrator, db):
    migrator.migrate(migrator.add_column("example_note", "pinned", BooleanField(default=False)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column("example_note", "pinned"))
