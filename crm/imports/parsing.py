"""Reading an uploaded file into a header and rows of text cells.

* CSV in UTF-8, UTF-8 with a BOM, GB18030 (what Excel in China writes; GBK and GB2312 are
  subsets) or UTF-16 with its BOM (Excel's "Unicode text"): the bytes are decoded strictly
  as UTF-8, else as GB18030; text with NUL bytes, replacement characters or many control
  characters is refused (a binary file is not a CSV).  Comma, tab or semicolon separated.
* XLSX through openpyxl in read-only mode (constant memory), first sheet; formula cells come
  back as their formula text (``=SUM(A1)``) and are refused by the row's validation.

Every cell comes back as a stripped ``str``: numbers without a spurious ``.0`` (a phone number
typed into Excel is a number), dates as ``YYYY-MM-DD`` (``YYYY-MM-DD HH:MM`` with a time),
booleans as ``Y``/``N``.  ``unquote`` removes the apostrophe the export puts before a cell
that a spreadsheet would run as a formula; ``looks_like_formula`` recognises what must never
be stored.

A file that cannot be read raises ``FileError`` with a message for the user, before anything
is written.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass
from typing import Iterator

from crm.i18n import _l

FORMATS = ("csv", "xlsx")
# the export's neutralisation (crm/exports/services.py FORMULA_STARTS): "'" + one of these
QUOTED_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")
_ACTIVE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\(|\|")    # a function call, a DDE link
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")

csv.field_size_limit(1 << 20)      # one cell of up to 1 MB (a long note), not the default 128 KB


class FileError(Exception):
    """The file cannot be imported; ``message`` says why, for the user."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]     # (line as the spreadsheet numbers it, cells)
    total: int                                # data rows (XLSX: from the sheet's dimension)
    encoding: str = ""
    delimiter: str = ","
    header_line: int = 1


# -- cells ------------------------------------------------------------------------------------

def unquote(value: str) -> str:
    """``'=1+2`` (as the export writes a cell starting with ``=``) -> ``=1+2``.  Only an
    apostrophe before one of the characters the export neutralises is removed."""
    if len(value) > 1 and value[0] == "'" and value[1] in QUOTED_STARTS:
        return value[1:]
    return value


def looks_like_formula(value: str) -> bool:
    """A value a spreadsheet would run: anything starting with ``=`` (``=cmd|' /C calc'!A0``,
    ``=HYPERLINK(...)``), and a value starting with ``+``, ``-`` or ``@`` that holds a
    function call or a DDE link (``@SUM(A1)``, ``-2+3+cmd|' /C calc'!A0``).  A phone number
    ``+86 138...``, ``-`` or ``@wang`` is fine."""
    if not value:
        return False
    first = value[0]
    if first == "=":
        return True
    if first in "+-@":
        return bool(_ACTIVE.search(value))
    return False


def cell_text(value) -> str:
    """An XLSX cell's value as the text a user typed."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    return str(value).strip()


# -- format and encoding ----------------------------------------------------------------------

def sniff_format(file_name: str, head: bytes) -> str:
    """``xlsx`` for a ZIP container (whatever the name says), ``csv`` otherwise; an old
    binary Excel file (.xls) is refused with a hint."""
    if head[:4] == b"PK\x03\x04":
        return "xlsx"
    if head[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileError(_l("This is an old Excel file (.xls). Open it in Excel or WPS and save "
                           "it as .xlsx or as CSV, then upload it again."))
    if (file_name or "").lower().endswith((".xlsx", ".xlsm")):
        raise FileError(_l("This file is not a valid XLSX workbook (it may be damaged or "
                           "not really an Excel file)."))
    return "csv"


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8-sig", "gb18030")
    text = encoding = None
    for candidate in candidates:
        try:
            text, encoding = data.decode(candidate), candidate
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise FileError(_l("This file is not text in UTF-8 or GB18030 (GBK): it cannot be read "
                           "as CSV. Save it from Excel as “CSV UTF-8” or as XLSX."))
    if "\x00" in text or "\ufffd" in text:
        raise FileError(_l("This file contains bytes that are not text (NUL or undecodable "
                           "characters): it is not a CSV file. Save it from Excel as “CSV "
                           "UTF-8” or as XLSX."))
    controls = len(_CONTROL.findall(text[:1_000_000]))
    if controls > 10 and controls * 1000 > min(len(text), 1_000_000):
        raise FileError(_l("This file contains control characters that do not occur in text: "
                           "it is not a CSV file."))
    return text.lstrip("\ufeff"), encoding


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


# -- tables -----------------------------------------------------------------------------------

def read_csv(data: bytes, encoding: str | None = None, count: bool = True) -> Table:
    if encoding:
        try:
            text = data.decode(encoding).lstrip("\ufeff")
        except UnicodeDecodeError as exc:
            raise FileError(_l("The file changed since it was uploaded.")) from exc
    else:
        text, encoding = decode(data)
    first = text.split("\n", 1)[0]
    delimiter = _delimiter(first)

    def records():
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            yield from enumerate(reader, 1)       # cells are stripped when they are used
        except csv.Error as exc:
            raise FileError(_l("The CSV file is malformed near line %(line)s: %(error)s",
                               line=reader.line_num, error=str(exc))) from exc

    iterator = records()
    headers, header_line = _header(iterator)
    total = sum(1 for _ in records()) - header_line if count else 0
    return Table(headers, iterator, max(total, 0), encoding, delimiter, header_line)


def read_xlsx(data: bytes, max_rows: int) -> Table:
    from openpyxl import load_workbook
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
        sheet = book.worksheets[0]
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, IndexError, OSError,
            EOFError) as exc:
        raise FileError(_l("This file is not a valid XLSX workbook (it may be damaged or not "
                           "really an Excel file).")) from exc
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a broken file
        raise FileError(_l("This file is not a valid XLSX workbook (it may be damaged or not "
                           "really an Excel file).")) from exc

    def records():
        try:
            for line, values in enumerate(sheet.iter_rows(values_only=True), 1):
                if line > max_rows + 1:
                    raise FileError(_l("The file has more than %(n)s rows: split it into "
                                       "several files.", n=max_rows))
                yield line, [cell_text(v) for v in values]
        except FileError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged sheet inside a valid ZIP
            raise FileError(_l("This XLSX workbook is damaged and cannot be read.")) from exc
        finally:
            book.close()

    iterator = records()
    headers, header_line = _header(iterator)
    try:
        total = max((sheet.max_row or 0) - header_line, 0)
    except Exception:  # noqa: BLE001 - no dimension in the file
        total = 0
    return Table(headers, iterator, total, "", ",", header_line)


def _header(records) -> tuple[list[str], int]:
    """The first row with any text in it is the header."""
    for line, cells in records:
        if any(c.strip() for c in cells):
            if line > 20:
                break
            return [c.lstrip("\ufeff").strip() for c in cells], line
    raise FileError(_l("The file has no header row: the first row must name the columns "
                       "(for example 客户名称, 手机, 邮箱)."))


def read(data: bytes, file_format: str, encoding: str | None = None,
         max_rows: int = 200_000, count: bool = True) -> Table:
    """The file's header and rows; ``count=False`` skips counting the rows of a CSV file
    (a run knows how many there are)."""
    if file_format == "xlsx":
        return read_xlsx(data, max_rows)
    return read_csv(data, encoding, count)


def padded(cells: list[str], width: int) -> list[str]:
    if len(cells) < width:
        return cells + [""] * (width - len(cells))
    return cells
