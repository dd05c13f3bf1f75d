"""The loop feeds the indicators engine: its sources and built-ins are registered, and opening,
closing and completing call notify_changed after commit, so the stored month values move."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from civicgrid.cases import services
from civicgrid.cases.inspections import inspection_complete, inspection_create, inspection_record_result
from civicgrid.cases.tests.factories import photo, published_standard
from civicgrid.indicators.models import IndicatorValue
from civicgrid.indicators.registry import builtins, check_source, sources, validate_measure
from civicgrid.indicators.services import indicator_recompute_all, indicators_sync_builtins

pytestmark = pytest.mark.django_db


def test_sources_and_builtins_are_registered_and_valid():
    assert {"cases.case", "cases.inspection"} <= set(sources())
    assert [check_source(sources()[code]) for code in ("cases.case", "cases.inspection")] == [[], []]
    for code, name in (("closure_rate", "结案率"), ("on_time_rate", "按期整改率"),
                       ("inspection_pass_rate", "检查合格率"), ("reopen_rate", "返工率")):
        definition = builtins()[code]
        assert str(definition.name) == name
        validate_measure(definition.numerator)
        validate_measure(definition.denominator)


def month_value(code: str, node) -> tuple[int, int]:
    row = IndicatorValue.objects.get(indicator__code=code, node=node, period_kind="month",
                                     period_start=timezone.localdate().replace(day=1))
    return row.numerator, row.denominator


def test_services_notify_after_commit(grid, django_capture_on_commit_callbacks):
    indicators_sync_builtins(enqueue=False)
    indicator_recompute_all(first=timezone.localdate().replace(day=1))
    today = timezone.localdate()
    version = published_standard()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        inspection = inspection_create(actor=grid.inspector, version=version, node=grid.post, inspected_on=today)
        items = {item.code: item for item in version.items.all()}
        inspection_record_result(actor=grid.inspector, inspection=inspection, item=items["1.1"], passed=False)
        inspection_record_result(actor=grid.inspector, inspection=inspection, item=items["1.2"], passed=True)
        inspection_record_result(actor=grid.inspector, inspection=inspection, item=items["2.1"], points=Decimal(10))
        inspection_record_result(actor=grid.inspector, inspection=inspection, item=items["2.2"], measured=Decimal(99))
        inspection_complete(actor=grid.inspector, inspection=inspection, deadline=today)
    assert len(callbacks) == 2  # the finding's case opened, the inspection completed
    assert month_value("inspection_pass_rate", grid.post) == (3, 4)
    assert month_value("closure_rate", grid.line) == (0, 1)
    case = inspection.results.get(item=items["1.1"]).case
    services.case_start(actor=grid.officer_user, case=case, version=1)
    services.case_submit(actor=grid.officer_user, case=case, version=2, note="", photos_in=[photo()])
    with django_capture_on_commit_callbacks(execute=True):
        services.case_verify(actor=grid.line_leader_user, case=case, version=3)
    assert month_value("closure_rate", grid.line) == (1, 1)
    assert month_value("on_time_rate", grid.zone) == (1, 1)
