"""Cell parsers for import schemas. A parser turns one raw cell (str from CSV; str, float, bool or
date from a workbook) into a value, or raises ValueError whose message is the 原因 shown in the
error report. Blank cells never reach a parser."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from civicgrid.core import idnumber

# Excel keeps 15 significant digits: a longer number typed as a number has already been rounded.
_EXACT_DIGITS = 10**15
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")
_DATE_PARTS = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Placeholders people type for "nothing" in optional columns.
BLANK_MARKERS = frozenset({"无", "/", "-", "—", "——", "空"})

TRUE_WORDS = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "✔", "对"})
FALSE_WORDS = frozenset({"否", "n", "no", "false", "0", "×", "✗", "x", "不是"})


def is_blank(value: Any) -> bool:
    """Empty cell: None, '' or only whitespace."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return False


def as_text(value: Any) -> str:
    """Display text of a cell: integral floats without `.0`, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value).strip()


def text(max_length: int) -> Callable[[Any], str]:
    """Free text up to a length (numbers are shown as typed, without a trailing `.0`)."""

    def parse(value: Any) -> str:
        result = value.strip() if type(value) is str else as_text(value)
        if len(result) > max_length:
            raise ValueError(_("内容超过%(max_length)s个字") % {"max_length": max_length})
        return result

    return parse


def code(max_length: int = 32) -> Callable[[Any], str]:
    """An identifier such as a node code: digits typed as a number are accepted only while Excel
    kept them exactly (fewer than 16 digits)."""

    def parse(value: Any) -> str:
        if isinstance(value, float):
            if not value.is_integer() or abs(value) >= _EXACT_DIGITS:
                raise ValueError(
                    _("编码是数字格式，Excel 已丢失部分数字，请将该列设为文本")
                )
            return str(int(value))
        result = str(value).strip().replace(" ", "")
        if ("e" in result or "E" in result) and _SCIENTIFIC.match(result):
            raise ValueError(_("编码是科学计数格式，已丢失部分数字"))
        if len(result) > max_length:
            raise ValueError(_("编码超过%(max_length)s位") % {"max_length": max_length})
        return result

    return parse


_PROVINCES = frozenset(f"{code:02d}" for code in idnumber.PROVINCE_CODES)
_today: list[Any] = [None, 0.0]  # (date, monotonic time after which to ask the clock again)
# Birth dates seen in valid ID numbers, by their eight digits: real days from 1880 until today, so at
# most some 53,000 entries. A day once valid stays valid (today only moves forward).
_BIRTHS: dict[str, dt.date] = {}


def _current_date() -> dt.date:
    if time.monotonic() > _today[1]:
        _today[0] = dt.date.today()  # noqa: DTZ011 - as idnumber.parse does
        _today[1] = time.monotonic() + 60
    return _today[0]  # type: ignore[no-any-return]


def _birth(digits: str) -> dt.date | None:
    """The date of eight digits YYYYMMDD if it is a possible birth date (1880 until today)."""
    birth = _BIRTHS.get(digits)
    if birth is not None:
        return birth
    year = int(digits[:4])
    try:
        birth = dt.date(year, int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None
    if year < 1880 or birth > _current_date():
        return None
    _BIRTHS[digits] = birth
    return birth


def id_birth_date(id18: str) -> dt.date:
    """The birth date of a valid 18-character ID number (as id_number returns it)."""
    birth = _BIRTHS.get(id18[6:14])
    return birth if birth is not None else dt.date(int(id18[6:10]), int(id18[10:12]), int(id18[12:14]))


def _valid_id18(text: str) -> bool:
    """The common case of idnumber.parse, done with C-level loops: a well-formed, valid 18-character
    number. Anything else goes to idnumber.parse, which is the authority and says what is wrong."""
    if len(text) != 18 or not text.isascii() or not text[:17].isdigit():
        return False
    if not (text[17].isdigit() or text[17] == "X") or text[:2] not in _PROVINCES:
        return False
    # The weights are 2**k mod 11 and 13 is 2 mod 11, so reading the 17 digits in base 13 (in C) and
    # doubling gives the weighted sum mod 11: sum(d_i * 2**(18-i)) = 2 * sum(d_i * 2**(17-i)).
    checksum = 2 * int(text[:17], 13) % 11
    return idnumber.CHECK_CHARS[checksum] == text[17] and _birth(text[6:14]) is not None


def id_number(value: Any) -> str:
    """A resident ID number (GB 11643-1999) as 18 characters; numeric cells are refused because Excel
    has already rounded them, 15-digit numbers are upgraded."""
    if type(value) is str:
        text = value.strip()
        if _valid_id18(text):
            return text
        if _SCIENTIFIC.match(text):
            # A CSV saved from a numeric Excel column: "3.71502E+17" is as lost as the float itself.
            value = float(text)
    return idnumber.parse(value).value


def date(value: Any) -> dt.date:
    """A calendar date from a date cell, an Excel serial number, or text such as 2020-01-31,
    2020/1/31, 2020.1.31, 2020年1月31日 or 20200131."""
    if type(value) is str and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return dt.date.fromisoformat(value)  # the common case, in C
        except ValueError:
            pass
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, float | int) and not isinstance(value, bool):
        number = float(value)
        if number.is_integer() and 19000101 <= number <= 29991231:
            return date(str(int(number)))
        if 1 <= number < 2958466:  # Excel's serial day numbers (1900 date system)
            return _EXCEL_EPOCH + dt.timedelta(days=int(number))
        raise ValueError(_("无法识别的日期：%(value)s") % {"value": as_text(value)})
    raw = str(value).strip()
    match = _DATE_PARTS.match(raw) or _DATE_COMPACT.match(raw)
    if match is None:
        raise ValueError(_("无法识别的日期：%(value)s，请写成 2020-01-31") % {"value": raw[:20]})
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise ValueError(_("日期不存在：%(value)s") % {"value": raw[:20]}) from None


def boolean(value: Any) -> bool:
    """是/否, Y/N, √/×, 1/0, true/false."""
    if isinstance(value, bool):
        return value
    word = as_text(value).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(_("应填“是”或“否”，实为“%(value)s”") % {"value": word[:10]})


def normalise_label(value: Any) -> str:
    """Label text for lookups: no spaces, full-width brackets as ASCII, lower case."""
    return (
        as_text(value).replace(" ", "").replace("\u3000", "").replace("（", "(").replace("）", ")").lower()
    )


def choice(mapping: Mapping[str, str], *, what: str | Promise) -> Callable[[Any], str]:
    """One of a fixed set of values, written as any of its labels (`mapping` is label -> value);
    `what` names the column in the error message (pass it lazily translated). The allowed words listed
    are the Chinese ones people type, so they stay as they are in every language."""
    lookup = {normalise_label(label): value for label, value in mapping.items()}
    shown = "、".join(dict.fromkeys(label for label in mapping if not label.isascii()))

    def parse(value: Any) -> str:
        hit = lookup.get(value) if type(value) is str else None
        if hit is not None:
            return hit
        key = normalise_label(value)
        try:
            return lookup[key]
        except KeyError:
            raise ValueError(
                _("未知的%(what)s“%(value)s”，可填：%(allowed)s")
                % {"what": what, "value": as_text(value)[:20], "allowed": shown}
            ) from None

    return parse
