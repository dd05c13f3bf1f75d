"""Periods (统计周期) of indicators: day, ISO week (Monday–Sunday), month, year, in local dates
(Asia/Shanghai). A period is named by its first day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from civicgrid.indicators.registry import PeriodKind


def period_start(kind: str, day: dt.date) -> dt.date:
    """The first day of the period of `kind` containing `day`."""
    if kind == PeriodKind.DAY:
        return day
    if kind == PeriodKind.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if kind == PeriodKind.MONTH:
        return day.replace(day=1)
    if kind == PeriodKind.YEAR:
        return day.replace(month=1, day=1)
    raise ValueError(f"unknown period kind {kind!r}")


def next_start(kind: str, start: dt.date) -> dt.date:
    """The first day of the period after the one starting on `start`."""
    if kind == PeriodKind.DAY:
        return start + dt.timedelta(days=1)
    if kind == PeriodKind.WEEK:
        return start + dt.timedelta(days=7)
    if kind == PeriodKind.MONTH:
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    if kind == PeriodKind.YEAR:
        return start.replace(year=start.year + 1)
    raise ValueError(f"unknown period kind {kind!r}")


def previous_start(kind: str, start: dt.date) -> dt.date:
    """The first day of the period before the one starting on `start`."""
    return period_start(kind, start - dt.timedelta(days=1))


def period_end(kind: str, start: dt.date) -> dt.date:
    """The last day (inclusive) of the period starting on `start`."""
    return next_start(kind, start) - dt.timedelta(days=1)


def starts_between(kind: str, first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of every period from the one containing `first` to the one containing `last`."""
    starts = []
    current = period_start(kind, first)
    while current <= last:
        starts.append(current)
        current = next_start(kind, current)
    return starts


def last_starts(kind: str, day: dt.date, count: int) -> list[dt.date]:
    """The `count` periods ending with the one containing `day`, oldest first."""
    starts = [period_start(kind, day)]
    while len(starts) < count:
        starts.append(previous_start(kind, starts[-1]))
    return starts[::-1]


@dataclass(frozen=True)
class Cut:
    """A period and the day through which it is counted (its last day, or earlier: as of that day)."""

    start: dt.date
    day: dt.date


def label(kind: str, start: dt.date) -> str:
    """A short Chinese label: 2026-05-12, 2026年第20周, 2026年5月, 2026年."""
    if kind == PeriodKind.DAY:
        return start.isoformat()
    if kind == PeriodKind.WEEK:
        year, week, _weekday = start.isocalendar()
        return _("%(year)d年第%(week)d周") % {"year": year, "week": week}
    if kind == PeriodKind.MONTH:
        return _("%(year)d年%(month)d月") % {"year": start.year, "month": start.month}
    return _("%(year)d年") % {"year": start.year}
