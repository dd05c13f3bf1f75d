"""Scoring of checklist items and inspections (pure functions, no database).

Rules: pass/fail awards the item's points when it passes; points awards 0..max and the item passes
only with full points (any deduction is a problem to fix); a measured value passes when it compares
to the threshold as the item says (≥, ≤, =) and then earns the full points. An item marked not
applicable counts neither in the maximum nor in the pass rate."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from civicgrid.cases.models import Comparison, ScoringRule
from civicgrid.core.errors import ApplicationError

ZERO = Decimal("0")


@dataclass(frozen=True)
class ItemScore:
    passed: bool | None  # None: not applicable
    awarded: Decimal
    maximum: Decimal
    measured: Decimal | None = None

    @property
    def not_applicable(self) -> bool:
        return self.passed is None


def compare(value: Decimal, comparison: str, threshold: Decimal) -> bool:
    """Whether a measured value meets a threshold under a comparison (gte, lte, eq)."""
    if comparison == Comparison.GTE:
        return value >= threshold
    if comparison == Comparison.LTE:
        return value <= threshold
    if comparison == Comparison.EQ:
        return value == threshold
    raise ApplicationError(_("未知的比较方式：%(comparison)s") % {"comparison": comparison})


def score_item(
    item: Any,
    *,
    passed: bool | None = None,
    points: Decimal | None = None,
    measured: Decimal | None = None,
    not_applicable: bool = False,
) -> ItemScore:
    """The score of one item from what the inspector recorded; ApplicationError when the input does
    not fit the item's rule."""
    maximum = Decimal(item.points)
    if not_applicable:
        return ItemScore(passed=None, awarded=ZERO, maximum=ZERO)
    if item.rule == ScoringRule.PASS_FAIL:
        if passed is None:
            raise ApplicationError(_("%(code)s：请选择合格或不合格") % {"code": item.code})
        return ItemScore(passed=passed, awarded=maximum if passed else ZERO, maximum=maximum)
    if item.rule == ScoringRule.POINTS:
        if points is None:
            raise ApplicationError(_("%(code)s：请填写得分") % {"code": item.code})
        points = Decimal(points)
        if points < 0 or points > maximum:
            raise ApplicationError(
                _("%(code)s：得分须在 0 到 %(maximum)s 之间") % {"code": item.code, "maximum": f"{maximum.normalize():f}"}
            )
        return ItemScore(passed=points >= maximum, awarded=points, maximum=maximum)
    if item.rule == ScoringRule.MEASURED:
        if measured is None:
            raise ApplicationError(_("%(code)s：请填写实测值") % {"code": item.code})
        measured = Decimal(measured)
        ok = compare(measured, item.comparison, Decimal(item.threshold))
        return ItemScore(passed=ok, awarded=maximum if ok else ZERO, maximum=maximum, measured=measured)
    raise ApplicationError(_("%(code)s：未知的评分方式 %(rule)s") % {"code": item.code, "rule": item.rule})


@dataclass(frozen=True)
class Totals:
    achieved: Decimal
    maximum: Decimal
    checked: int
    passed: int
    failed: int
    not_applicable: int

    @property
    def percent(self) -> Decimal | None:
        """Points achieved ÷ maximum, in percent to one decimal."""
        if not self.maximum:
            return None
        return (100 * self.achieved / self.maximum).quantize(Decimal("0.1"))

    @property
    def pass_rate(self) -> Decimal | None:
        """Passed ÷ checked items, in percent to one decimal."""
        if not self.checked:
            return None
        return (Decimal(100 * self.passed) / self.checked).quantize(Decimal("0.1"))


def totals(scores: Iterable[ItemScore]) -> Totals:
    """Sum of item scores: points achieved and possible, items checked, passed, failed, not applicable."""
    achieved = maximum = ZERO
    checked = passed = failed = skipped = 0
    for score in scores:
        if score.not_applicable:
            skipped += 1
            continue
        checked += 1
        achieved += score.awarded
        maximum += score.maximum
        if score.passed:
            passed += 1
        else:
            failed += 1
    return Totals(achieved, maximum, checked, passed, failed, skipped)
