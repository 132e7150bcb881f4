"""Each type's parsing and checking (forms, imports and filters share it), its storage, and
its display, which parses back to the same value (an export imports again)."""
from __future__ import annotations

import datetime as dt
import json
import types

import pytest

from plugins.custom_fields import fieldtypes as ft


def definition(kind: str, choices=()):
    return types.SimpleNamespace(id=1, key="k", type=kind, label_zh="字段", label_en="Field",
                                 choices=json.dumps([list(c) for c in choices]))


SIZES = (("大", "Large"), ("中", "Medium"), ("小", "Small"))

GOOD = [
    ("text", "  杭州 西湖 ", "杭州 西湖"),
    ("textarea", "第一行\n第二行", "第一行\n第二行"),
    ("integer", "1,234", 1234),
    ("integer", "-7", -7),
    ("integer", "１２", 12),                          # full-width digits
    ("money", "¥1,234.5", 123450),
    ("money", "12元", 1200),
    ("money", "0.01", 1),
    ("money", "-3.10", -310),
    ("date", "2024-03-15", dt.date(2024, 3, 15)),
    ("date", "2024/3/5", dt.date(2024, 3, 5)),
    ("choice", "中", "中"),
    ("choice", "large", "大"),                        # the English label, any case
    ("multichoice", "小, 大", ("大", "小")),           # kept in the field's order
    ("multichoice", "Medium、小", ("中", "小")),
    ("boolean", "是", True),
    ("boolean", "N", False),
    ("phone", "138 1234 5678", "+8613812345678"),
    ("phone", "010-12345678", "+861012345678"),
    ("email", "Zhang.Wei@Example.COM", "Zhang.Wei@example.com"),
    ("url", "example.com/a?b=1", "https://example.com/a?b=1"),
    ("url", "http://shop.example.cn", "http://shop.example.cn"),
]

BAD = [
    ("text", "x" * 201, "Too long"),
    ("integer", "12.5", "Not a whole number"),
    ("integer", "abc", "Not a whole number"),
    ("integer", "9" * 13, "Too large"),
    ("money", "1.234", "two decimals"),
    ("money", "twelve", "Not an amount"),
    ("date", "15.3.", "Not a date"),
    ("choice", "特大", "not one of the choices"),
    ("multichoice", "大, 特大", "not one of the choices"),
    ("boolean", "maybe", "Y or N"),
    ("phone", "138123456789", "11 digits"),
    ("phone", "12345678", "area code"),
    ("email", "zhang@", "not valid"),
    ("url", "javascript:alert(1)", "Not a web address"),
    ("url", "ftp://example.com/x", "Not a web address"),
    ("url", "localhost", "Not a web address"),
]


def test_good_values_parse_to_their_canonical_form(app):
    with app.test_request_context():
        for kind, text, expected in GOOD:
            assert ft.parse(definition(kind, SIZES), text) == expected, (kind, text)


def test_bad_values_are_refused_with_a_message(app):
    with app.test_request_context():
        for kind, text, message in BAD:
            with pytest.raises(ValueError) as caught:
                ft.parse(definition(kind, SIZES), text)
            assert message in str(caught.value.args[0]), (kind, text, caught.value)


def test_storage_and_display_round_trip(app):
    with app.test_request_context():
        for kind, _text, expected in GOOD:
            defn = definition(kind, SIZES)
            row = ft.to_row(defn, expected)
            if expected is False:
                assert row is None                   # "no" is no row
                assert ft.empty_value(defn) is False
                continue
            stored = ft.from_row(defn, row["value_text"], row["value_long"], row["value_int"],
                                 row["value_date"])
            assert stored == expected, kind
            for english in (False, True):
                shown = ft.display(defn, stored, english)
                assert ft.parse(defn, shown) == expected, (kind, shown)


def test_each_type_has_one_storage_column():
    assert set(ft.COLUMN) == set(ft.TYPES) == set(ft.TYPE_LABELS)
    assert ft.COLUMN["money"] == "value_int" and ft.COLUMN["textarea"] == "value_long"


def test_empty_is_none_and_money_is_shown_in_yuan(app):
    with app.test_request_context():
        assert ft.parse(definition("integer"), "  ") is None
        assert ft.display(definition("money"), 123456789) == "1,234,567.89"
        assert ft.form_value(definition("money"), 123456789) == "1234567.89"
        assert ft.audit_text(definition("phone"), "+8613812345678") == "138****5678"
        assert ft.audit_text(definition("boolean"), False) == "False"
