"""Scoring of each rule type and of a whole inspection (pure functions)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.utils import translation

from civicgrid.cases.models import Comparison, ScoringRule
from civicgrid.cases.scoring import ItemScore, compare, score_item, totals
from civicgrid.core.errors import ApplicationError

D = Decimal


def item(rule: str, points: str = "10", comparison: str = "", threshold: str | None = None):
    return SimpleNamespace(code="1.1", rule=rule, points=D(points), comparison=comparison,
                           threshold=D(threshold) if threshold is not None else None)


def test_pass_fail_awards_all_or_nothing():
    rule = item(ScoringRule.PASS_FAIL, "5")
    assert score_item(rule, passed=True) == ItemScore(True, D("5"), D("5"))
    assert score_item(rule, passed=False) == ItemScore(False, D("0"), D("5"))
    with pytest.raises(ApplicationError, match="请选择合格或不合格"):
        score_item(rule)


def test_points_pass_only_with_full_marks_and_stay_in_range():
    rule = item(ScoringRule.POINTS, "10")
    assert score_item(rule, points=D("10")) == ItemScore(True, D("10"), D("10"))
    assert score_item(rule, points=D("7.5")) == ItemScore(False, D("7.5"), D("10"))
    assert score_item(rule, points=D("0")) == ItemScore(False, D("0"), D("10"))
    for wrong in (D("-1"), D("10.01")):
        with pytest.raises(ApplicationError, match="得分须在 0 到 10 之间"):
            score_item(rule, points=wrong)
    with pytest.raises(ApplicationError, match="请填写得分"):
        score_item(rule)


@pytest.mark.parametrize(
    ("comparison", "value", "passed"),
    [
        (Comparison.GTE, "98", True), (Comparison.GTE, "98.5", True), (Comparison.GTE, "97.99", False),
        (Comparison.LTE, "3", True), (Comparison.LTE, "2", True), (Comparison.LTE, "3.01", False),
        (Comparison.EQ, "100", True), (Comparison.EQ, "99.9", False),
    ],
)
def test_measured_value_against_the_threshold(comparison, value, passed):
    threshold = {"gte": "98", "lte": "3", "eq": "100"}[comparison]
    rule = item(ScoringRule.MEASURED, "10", comparison, threshold)
    score = score_item(rule, measured=D(value))
    assert (score.passed, score.awarded, score.maximum, score.measured) == (
        passed, D("10") if passed else D("0"), D("10"), D(value)
    )


def test_measured_needs_a_value_and_a_known_comparison():
    with pytest.raises(ApplicationError, match="请填写实测值"):
        score_item(item(ScoringRule.MEASURED, "10", Comparison.GTE, "98"))
    with pytest.raises(ApplicationError, match="未知的比较方式"):
        compare(D("1"), "gt", D("0"))


def test_not_applicable_counts_nowhere():
    score = score_item(item(ScoringRule.PASS_FAIL), not_applicable=True)
    assert score == ItemScore(None, D("0"), D("0"))
    assert score.not_applicable is True


def test_unknown_rule_is_refused():
    with pytest.raises(ApplicationError, match="未知的评分方式"):
        score_item(item("bonus"), passed=True)


def test_totals_score_and_pass_rate():
    scores = [
        ItemScore(True, D("10"), D("10")),
        ItemScore(False, D("0"), D("5")),
        ItemScore(False, D("7.5"), D("10")),
        ItemScore(None, D("0"), D("0")),
    ]
    result = totals(scores)
    assert (result.achieved, result.maximum, result.checked, result.passed, result.failed, result.not_applicable) == (
        D("17.5"), D("25"), 3, 1, 2, 1
    )
    assert result.percent == D("70.0")
    assert result.pass_rate == D("33.3")
    empty = totals([ItemScore(None, D("0"), D("0"))])
    assert (empty.percent, empty.pass_rate) == (None, None)


def test_messages_in_english():
    """The catalog's English: a plain message and one with placeholders."""
    with translation.override("en"):
        with pytest.raises(ApplicationError) as caught:
            compare(D("1"), "between", D("2"))
        assert caught.value.message == "Unknown comparison: between"
        with pytest.raises(ApplicationError) as caught:
            score_item(item(ScoringRule.POINTS, "10"), points=D("11"))
        assert caught.value.message == "1.1: the points must be between 0 and 10"
    with pytest.raises(ApplicationError) as caught:
        score_item(item(ScoringRule.POINTS, "10"), points=D("11"))
    assert caught.value.message == "1.1：得分须在 0 到 10 之间"
