"""Figures of settled periods kept between processes (plugins/insights/figures.py)
(frozen: never edit, add the next one)."""
from peewee import *


def up(migrator, db):
    class Figure(Model):
        key = CharField(max_length=64, primary_key=True)
        kpi = CharField(max_length=40, index=True)
        value = TextField()
        expires_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'insights_figure'
    db.create_tables([Figure])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('insights_figure'))
