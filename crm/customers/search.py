"""How Chinese users search: name (1-2 characters too), full pinyin, pinyin initials ("zw" finds
张伟), phone digits (the last 4 at a counter), customer number, e-mail.

The helpers here: a query's terms (``normalise_query``), a name's pinyin keys under every
reading of a heteronym surname (单 shan/dan, 曾 zeng/ceng, 区 ou/qu ...: ``pinyin_keys``, which
the duplicate warning uses too), a phone number's national digits.  The tokens a customer is
found by: customers/search_tokens.py; where they are kept and looked up:
customers/search_index.py.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin, pinyin

_HAN = re.compile(r"[\u3400-\u9fff]")
_DIGITS = re.compile(r"\D+")


def has_han(text: str) -> bool:
    return bool(_HAN.search(text or ""))


def pinyin_keys(name: str) -> frozenset[str]:
    """Full pinyin and initials of ``name`` (every reading of a heteronym first character)."""
    return _pinyin_keys((name or "").strip())


@lru_cache(maxsize=65536)   # names repeat a lot (surnames, given names): imports get faster
def _pinyin_keys(name: str) -> frozenset[str]:
    if not has_han(name):
        return frozenset()
    rest_full = lazy_pinyin(name[1:], errors="default")
    rest_initials = lazy_pinyin(name[1:], style=Style.FIRST_LETTER, errors="default")
    first_readings = pinyin(name[0], style=Style.NORMAL, heteronym=True)[0] if _HAN.match(name[0]) \
        else [name[0]]
    keys = set()
    for reading in dict.fromkeys([lazy_pinyin(name[0])[0]] + list(first_readings)):
        full = (reading + "".join(rest_full)).lower()
        initials = (reading[:1] + "".join(rest_initials)).lower()
        keys.add(re.sub(r"\s+", "", full))
        keys.add(re.sub(r"\s+", "", initials))
    return frozenset(keys)


def phone_digits(value: str) -> str:
    """National digits of a stored E.164 number: +8613812345678 -> 13812345678."""
    digits = _DIGITS.sub("", value or "")
    if (value or "").startswith("+86") and digits.startswith("86"):
        digits = digits[2:]
    return digits


def normalise_query(q: str) -> list[str]:
    """The terms of a query: NFKC (full-width digits and letters), lower case, split on space."""
    q = unicodedata.normalize("NFKC", q or "").lower().strip()
    terms = []
    for term in q.split():
        if re.fullmatch(r"[\d\-()+]+", term):   # a phone number typed with separators
            term = _DIGITS.sub("", term) or term
        terms.append(term)
    return terms[:6]
