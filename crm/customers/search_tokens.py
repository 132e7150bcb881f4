"""The search index: tokens searched by prefix, so a search is an index range scan, not a scan
of every customer.

A customer's tokens are the suffixes of its keys that a person would start typing from:

* the name from each character (so "伟" and "华信" match "张伟" and "杭州华信科技有限公司"),
  except inside a generic legal suffix ("有限公司" would match every company);
* full pinyin from each syllable ("zhangwei", "wei") and initials from each letter ("zw", "w"),
  under every reading of a heteronym first character (单: shan, dan, chan);
* phone digits: the whole national number, the last 8 and the last 4 (the counter's question);
* the customer number (also its digits and last 4), e-mail and its local part;
* the same for every contact.

A query term matches a customer when some token starts with it; all terms must match.  Tokens
are cut to 32 characters (a longer term is cut too) and hold no space or other separator
(a name's words are tokens of their own: a query's terms are split on spaces too).  Where the
tokens are kept and how a term is looked up: customers/search_index.py.
"""
from __future__ import annotations

import re
from functools import lru_cache

from pypinyin import Style, lazy_pinyin, pinyin
from pypinyin.seg.simpleseg import seg as _pinyin_seg

from crm.customers.search import has_han, phone_digits

MAX_TOKEN = 32
_HAN = re.compile(r"[\u3400-\u9fff]")
_LEGAL_TAILS = ("股份有限公司", "有限责任公司", "有限公司", "分公司", "集团", "公司")
_WORD = re.compile(r"[\w@.+\-]+", re.UNICODE)


# Unicode separators (Z*) and U+180E, which SQLite's tokenizer still counts as a space.
_SEPARATORS = re.compile(r"[\s\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


def clean_token(text: str) -> str:
    """``text`` without spaces or other separators: a token, or a query's term, is one word."""
    return _SEPARATORS.sub("", text or "")


def _cut(token: str) -> str:
    return clean_token(token)[:MAX_TOKEN]


def _name_core_length(name: str) -> int:
    """Characters before a generic legal tail: suffixes starting inside it are not indexed."""
    for tail in _LEGAL_TAILS:
        if name.endswith(tail) and len(name) > len(tail):
            return len(name) - len(tail)
    return len(name)


# pypinyin converts a text word by word, after cutting it with its own segmenter
# (pypinyin.seg.simpleseg.seg: runs of Han / other characters, Han runs by maximum matching of
# its phrase dictionary), and each word's pinyin depends on that word only.  So converting the
# words one by one, through a cache, gives exactly ``lazy_pinyin(name)``: names share their
# words (surnames, cities, brands, trades, 有限公司), and a bulk import spends its time here.
@lru_cache(maxsize=65536)
def _word_syllables(word: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return (tuple(lazy_pinyin(word, errors="default")),
            tuple(lazy_pinyin(word, style=Style.FIRST_LETTER, errors="default")))


def _syllables(name: str) -> tuple[list[str], list[str]]:
    """(full pinyin, initials) per syllable: ``lazy_pinyin(name)`` in NORMAL and FIRST_LETTER."""
    full: list[str] = []
    initials: list[str] = []
    for word in _pinyin_seg(name):
        word_full, word_initials = _word_syllables(word)
        full.extend(word_full)
        initials.extend(word_initials)
    return full, initials


@lru_cache(maxsize=8192)
def _readings(char: str) -> tuple[str, ...]:
    """Every reading of one character (heteronyms: 单 -> shan, dan, chan)."""
    return tuple(pinyin(char, style=Style.NORMAL, heteronym=True)[0])


@lru_cache(maxsize=65536)
def name_tokens(name: str) -> frozenset[str]:
    name = (name or "").strip().lower()
    if not name:
        return frozenset()
    tokens = set()
    if has_han(name):
        core = _name_core_length(name)
        compact = name.replace(" ", "")
        for i in range(min(core, len(compact))):
            tokens.add(_cut(compact[i:]))
        syllables, initials = _syllables(name)
        first_readings = [syllables[0]]
        if _HAN.match(name[0]):
            first_readings += _readings(name[0])
        n = min(core, len(syllables))
        for reading in dict.fromkeys(first_readings):
            full = [reading] + syllables[1:]
            inits = [reading[:1]] + initials[1:]
            for i in range(n):
                tokens.add(_cut("".join(full[i:]).replace(" ", "")))
                tokens.add(_cut("".join(inits[i:]).replace(" ", "")))
    else:   # each word as written ("o'brien") and its letters and digits ("o", "brien")
        for word in name.split():
            tokens.add(_cut(word))
            tokens.update(_cut(piece) for piece in _WORD.findall(word))
    return frozenset(t for t in tokens if t)


def phone_tokens(e164: str) -> set[str]:
    digits = phone_digits(e164)
    if not digits:
        return set()
    tokens = {digits}
    if len(digits) > 8:
        tokens.add(digits[-8:])
    if len(digits) > 4:
        tokens.add(digits[-4:])
    return tokens


def email_tokens(email: str) -> set[str]:
    email = (email or "").lower()
    if not email:
        return set()
    return {_cut(email), _cut(email.split("@", 1)[0])}


def number_tokens(number: str) -> set[str]:
    number = (number or "").lower()
    if not number:
        return set()
    digits = re.sub(r"\D", "", number)
    tokens = {number, digits}
    if len(digits) > 4:
        tokens.add(digits[-4:])
    return {t for t in tokens if t}


def customer_tokens(customer, contacts=()) -> set[str]:
    tokens = set(name_tokens(customer.name))
    tokens |= number_tokens(customer.number)
    tokens |= phone_tokens(customer.phone)
    tokens |= email_tokens(customer.email)
    for contact in contacts:
        tokens |= name_tokens(contact.name)
        tokens |= phone_tokens(contact.mobile) | phone_tokens(contact.phone)
        tokens |= email_tokens(contact.email)
    return tokens
