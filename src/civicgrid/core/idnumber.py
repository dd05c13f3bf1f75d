"""Resident identity numbers (公民身份号码) per GB 11643-1999."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.utils.translation import gettext as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
# First two digits of valid province-level codes (GB/T 2260); 71/81/82 are Taiwan, Hong Kong, Macao.
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
     50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82}
)
_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")


class InvalidIdNumber(ValueError):
    """The text is not a valid resident ID number; the message says why (in the active language)."""


@dataclass(frozen=True)
class IdNumber:
    """A validated 18-character resident ID number and the facts it encodes."""

    value: str
    region_code: str
    birth_date: dt.date
    sex: str  # "M" or "F": odd sequence digit is male

    def age_on(self, day: dt.date) -> int:
        """Completed years of age on the given day."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character for the first 17 digits."""
    return CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def upgrade_15_to_18(value: str) -> str:
    """Convert a pre-1999 15-digit number (YYMMDD birth date, born 19xx) to 18 characters."""
    first17 = value[:6] + "19" + value[6:]
    return first17 + check_character(first17)


def parse(raw: object, *, today: dt.date | None = None) -> IdNumber:
    """Validate and normalise an ID number; raise InvalidIdNumber with a specific reason."""
    if isinstance(raw, float | int) and not isinstance(raw, bool):
        raise InvalidIdNumber(
            _("身份证号是数字格式，Excel 已丢失末尾数字，请将该列设为文本后重新填写")
        )
    text = str(raw).strip().upper().replace(" ", "")
    if not text:
        raise InvalidIdNumber(_("身份证号为空"))
    if _ID15.match(text):
        text = upgrade_15_to_18(text)
    if not _ID18.match(text):
        raise InvalidIdNumber(_("身份证号应为18位（或15位旧号），实为%(length)s位") % {"length": len(text)})
    if int(text[:2]) not in PROVINCE_CODES:
        raise InvalidIdNumber(_("身份证号地址码%(code)s无效") % {"code": text[:6]})
    try:
        birth = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError as exc:
        raise InvalidIdNumber(_("身份证号出生日期%(date)s无效") % {"date": text[6:14]}) from exc
    today = today or dt.date.today()  # noqa: DTZ011 - a calendar date in the local zone is what is meant
    if birth > today or birth.year < 1880:
        raise InvalidIdNumber(_("身份证号出生日期%(date)s不合理") % {"date": text[6:14]})
    expected = check_character(text[:17])
    if text[17] != expected:
        raise InvalidIdNumber(_("身份证号校验位错误，应为%(expected)s") % {"expected": expected})
    return IdNumber(
        value=text,
        region_code=text[:6],
        birth_date=birth,
        sex="M" if int(text[16]) % 2 else "F",
    )


def mask(value: str) -> str:
    """Display mask per GB/T 35273: keep the region code and the last four characters."""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def make(region_code: str, birth_date: dt.date, sequence: int) -> str:
    """Build a valid ID number (used by the demo and by tests)."""
    first17 = f"{region_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
