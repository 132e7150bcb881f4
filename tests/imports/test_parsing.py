"""Reading files: encodings (UTF-8, UTF-8 with BOM, GB18030, UTF-16), XLSX cells, broken and
garbage files, the header, the export's apostrophes and formula detection."""
from __future__ import annotations

import datetime as dt
import io
import os
import random

import pytest

from crm.imports import parsing
from crm.imports.parsing import FileError, looks_like_formula, unquote
from tests.imports.conftest import csv_bytes, xlsx_bytes

ROWS = [["客户名称", "手机", "备注"], ["杭州华信科技有限公司", "13812345678", "老客户，重点跟进"],
        ["单丽", "13987654321", "会员"]]


def all_rows(table):
    return [cells for _line, cells in table.rows]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_csv_in_every_encoding_reads_the_same(encoding):
    table = parsing.read(csv_bytes(ROWS, encoding), "csv")
    assert table.headers == ROWS[0]
    assert all_rows(table) == ROWS[1:]
    assert table.total == 2
    assert table.encoding == {"utf-8": "utf-8-sig", "gbk": "gb18030"}.get(encoding, encoding)


def test_tab_and_semicolon_separated():
    assert parsing.read(csv_bytes(ROWS, delimiter="\t"), "csv").headers == ROWS[0]
    assert all_rows(parsing.read(csv_bytes(ROWS, delimiter=";"), "csv"))[0][1] == "13812345678"


def test_lines_are_spreadsheet_rows_even_with_a_line_break_in_a_cell():
    data = csv_bytes([["名称", "备注"], ["甲有限公司", "第一行\n第二行"], ["乙有限公司", "x"]])
    table = parsing.read(data, "csv")
    assert [line for line, _cells in table.rows] == [2, 3]


def test_random_bytes_are_refused_with_a_clear_message():
    garbage = random.Random(5).randbytes(2 * 1024 * 1024)
    with pytest.raises(FileError) as exc:
        parsing.read(garbage, parsing.sniff_format("data.csv", garbage[:8]))
    assert "UTF-8" in str(exc.value.message) or "not text" in str(exc.value.message)


def test_nul_bytes_and_control_characters_are_not_text():
    with pytest.raises(FileError):
        parsing.decode(b"name,phone\n\x00\x00abc,1\n")
    with pytest.raises(FileError):
        parsing.decode(("name\n" + "\x01\x02\x03\x04" * 50).encode())


def test_no_header_row():
    with pytest.raises(FileError) as exc:
        parsing.read(b"\n\n,,\n", "csv")
    assert "header" in str(exc.value.message)


def test_xlsx_cells_come_back_as_typed_text():
    data = xlsx_bytes([["客户名称", "手机", "成立日期", "数量", "VIP", "金额"],
                       ["杭州华信科技有限公司", 13812345678, dt.datetime(2008, 5, 4), 3.0, True,
                        12.5],
                       ["单丽", "139 8765 4321", dt.date(2020, 1, 2), None, False, None]])
    table = parsing.read(data, parsing.sniff_format("x.xlsx", data[:8]))
    assert table.headers[0] == "客户名称"
    assert all_rows(table) == [
        ["杭州华信科技有限公司", "13812345678", "2008-05-04", "3", "Y", "12.5"],
        ["单丽", "139 8765 4321", "2020-01-02", "", "N", ""]]


def test_xlsx_formula_cells_come_back_as_formulas():
    data = xlsx_bytes([["名称", "备注"], ["甲有限公司", "=HYPERLINK(\"http://evil\")"]])
    cells = all_rows(parsing.read(data, "xlsx"))[0]
    assert looks_like_formula(cells[1])


def test_broken_xlsx_and_old_xls_are_refused():
    good = xlsx_bytes(ROWS)
    for broken in (good[: len(good) // 2], b"PK\x03\x04" + os.urandom(5000)):
        with pytest.raises(FileError) as exc:
            parsing.read(broken, parsing.sniff_format("x.xlsx", broken[:8]))
        assert "XLSX" in str(exc.value.message)
    with pytest.raises(FileError) as exc:
        parsing.sniff_format("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    assert ".xls" in str(exc.value.message)
    with pytest.raises(FileError):
        parsing.sniff_format("named.xlsx", b"name,phone")


@pytest.mark.parametrize("value,expected", [
    ("'=1+2", "=1+2"), ("'+8613812345678", "+8613812345678"), ("'-5", "-5"), ("'@x", "@x"),
    ("'|x", "|x"), ("'%x", "%x"), ("'hello", "'hello"), ("'", "'"), ("plain", "plain")])
def test_unquote_removes_only_the_exports_apostrophe(value, expected):
    assert unquote(value) == expected


@pytest.mark.parametrize("value,formula", [
    ("=cmd|' /C calc'!A0", True), ("=HYPERLINK(\"http://x\",\"y\")", True), ("=1+1", True),
    ("@SUM(A1:A9)", True), ("+cmd|' /C calc'!A0", True), ("-2+3+cmd|' /C calc'!A0", True),
    ("+86 138 1234 5678", False), ("-", False), ("- a note", False), ("@wang", False),
    ("", False), ("杭州", False)])
def test_formula_detection(value, formula):
    assert looks_like_formula(value) is formula


def test_cells_of_a_xlsx_export_round_trip(app):
    """The export's XLSX writer and this reader agree on every kind of value."""
    from crm.exports.services import xlsx_bytes as export_xlsx
    data = export_xlsx(iter([["Number", "Name"], ["C2024010001", "=cmd|' /C calc'!A0"],
                             ["C2024010002", 12]]))
    table = parsing.read(data, "xlsx")
    assert all_rows(table) == [["C2024010001", "=cmd|' /C calc'!A0"], ["C2024010002", "12"]]
    assert io.BytesIO(data)


def test_garbage_and_oversized_uploads_change_nothing(app, login, seed):
    from crm.imports.models import Import
    from tests.imports.conftest import upload
    client = login("sales")
    folder = os.path.join(app.instance_path, "imports")
    garbage = random.Random(7).randbytes(10 * 1024 * 1024)            # 10 MB of garbage
    for name in ("data.csv", "data.xlsx", "data.txt"):
        response = upload(client, garbage, name)
        assert response.status_code == 422, name
        assert "error-box" in response.get_data(as_text=True)
    broken = xlsx_bytes(ROWS)[:3000]
    assert upload(client, broken, "book.xlsx").status_code == 422
    assert upload(client, b"", "empty.csv").status_code == 422
    assert seed.run(Import.select().count) == 0
    assert not os.path.isdir(folder) or os.listdir(folder) == []
    app.config["IMPORT_MAX_BYTES"] = 4096
    response = upload(client, csv_bytes(ROWS * 200))                   # a bit over the limit
    assert response.status_code == 422 and "larger than" in response.get_data(as_text=True)
    response = upload(client, csv_bytes(ROWS * 5000))                  # far over: refused
    assert response.status_code == 413                                 # while it comes in
    assert "larger than" in response.get_data(as_text=True)
    assert seed.run(Import.select().count) == 0
