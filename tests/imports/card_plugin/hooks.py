"""The card plugin's hooks: its table, its migrations and its import column."""
from __future__ import annotations

import os
import re

from crm import ImportColumn, hookimpl
from crm.migrate import MigrationSet

from .models import Card

MIGRATIONS = os.path.join(os.path.dirname(__file__), "migrations")


def parse_card(text: str) -> str:
    digits = re.sub(r"\s+", "", text)
    if not re.fullmatch(r"\d{8}", digits):
        raise ValueError("A card number has 8 digits.")
    return digits


def load_card(customer):
    return Card.select(Card.number).where(Card.customer == customer.id).scalar()


def save_card(customer, value):
    if value is None:
        Card.delete().where(Card.customer == customer.id).execute()
        return
    (Card.insert(customer=customer.id, number=value)
     .on_conflict(conflict_target=[Card.customer], update={Card.number: value}).execute())


@hookimpl
def crm_register_models():
    return [Card]


@hookimpl
def crm_register_migrations():
    return [MigrationSet("cardx", MIGRATIONS)]


@hookimpl
def crm_import_columns(user):
    return [ImportColumn("card", "Loyalty card", ("会员卡号", "卡号", "card number"),
                         parse=parse_card, save=save_card, load=load_card)]
