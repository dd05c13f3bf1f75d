"""Definitions: formula validation (each error names what is unknown), create/update with audit,
the built-in sync, the background recomputation after a change, commands and tasks."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.indicators.models import Indicator, IndicatorValue
from civicgrid.indicators.registry import (
    _BUILTINS,
    BuiltinIndicator,
    Measure,
    Source,
    builtins,
    check_source,
    register_builtin,
    validate_measure,
)
from civicgrid.indicators.services import (
    indicator_create,
    indicator_recompute,
    indicator_recompute_all,
    indicator_update,
    indicators_refresh_current,
    indicators_sync_builtins,
)
from civicgrid.indicators.tasks import recompute_indicators, refresh_running_periods
from civicgrid.indicators.tests import factories
from civicgrid.testing import factories as base

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
PEOPLE = factories.PEOPLE_BY_NODE


# --- formula validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"source": "nowhere.thing", "date_field": "x"}, "未知的指标数据源：nowhere.thing。"),
        ({"source": PEOPLE, "date_field": "updated_at"}, f"数据源 {PEOPLE} 没有日期字段 updated_at。"),
        ({"source": PEOPLE}, f"数据源 {PEOPLE} 没有日期字段 （空）。"),
        ({"source": PEOPLE, "date_field": "created_at", "filters": {"name": "张"}}, f"数据源 {PEOPLE} 不能按字段 name 筛选。"),
        ({"source": PEOPLE, "date_field": "created_at", "filters": {"sex__gt": "M"}}, "字段 sex 不支持查询方式 gt。"),
        ({"source": PEOPLE, "date_field": "created_at", "filters": {"sex": "X"}}, "字段 sex 没有取值 X。"),
        ({"source": PEOPLE, "date_field": "created_at", "filters": {"sex__in": "M"}}, "筛选 sex__in 的值必须是列表。"),
        ({"source": PEOPLE, "date_field": "created_at", "filters": {"deleted_at__isnull": "yes"}},
         "筛选 deleted_at__isnull 的值必须是 true 或 false。"),
        ({"source": PEOPLE, "date_field": "created_at", "filters": {"created_at__lte": {"field": "name"}}},
         "筛选 created_at__lte 引用了不可用的字段 name。"),
        ({"source": PEOPLE, "date_field": "created_at", "aggregate": "sum", "sum_field": "birth_date"},
         f"数据源 {PEOPLE} 没有可求和字段 birth_date。"),
        ({"source": PEOPLE, "date_field": "created_at", "aggregate": "avg"}, "未知的汇总方式：avg（可用 count、sum）。"),
        ({"source": PEOPLE, "date_field": "created_at", "window": "rolling"}, "未知的统计口径：rolling（可用 period、cumulative）。"),
        ({"source": PEOPLE, "date_field": "created_at", "sum_field": "x"}, "计数（count）不需要求和字段 x。"),
        ({"source": factories.TABLE, "date_field": "day"}, f"快照数据源 {factories.TABLE} 按日取状态，不用日期字段 day。"),
        ({"source": PEOPLE, "date_field": "created_at", "colour": "red"}, "指标公式含未知项：colour。"),
        ([1, 2], "指标公式必须是对象（JSON object）。"),
    ],
)
def test_a_formula_naming_something_unknown_is_refused_by_name(spec, message):
    with pytest.raises(ApplicationError) as error:
        validate_measure(spec)
    assert error.value.message == message


def test_valid_formulas_pass_and_the_side_is_named():
    measure = validate_measure({"source": PEOPLE, "date_field": "created_at", "filters": {
        "sex__in": ["M", "F"], "deleted_at__isnull": True, "created_at__lte": {"field": "deleted_at"},
    }})
    assert measure == Measure(PEOPLE, date_field="created_at", filters={
        "sex__in": ["M", "F"], "deleted_at__isnull": True, "created_at__lte": {"field": "deleted_at"},
    })
    assert validate_measure(Measure(factories.TABLE, aggregate="sum", sum_field="num")).sum_field == "num"
    with pytest.raises(ApplicationError) as error:
        validate_measure({"source": "x"}, side="分母")
    assert error.value.message == "分母：未知的指标数据源：x。"


def test_source_declarations_are_checked():
    bad = Source(code="bad", label="bad", model="people.Person", node_field="name", date_fields=("name",),
                 sum_fields=("name",), filter_fields={"nothing": ("exact",), "sex": ("like",)})
    # A non-relation node field is taken for a materialised-path field.
    assert check_source(bad) == [
        "bad: date field 'name' is not a DateField/DateTimeField",
        "bad: sum field 'name' is not an integer field",
        "bad: filter field 'nothing' does not exist",
        "bad: filter field 'sex' has unknown lookups ['like']",
    ]
    wrong_target = Source(code="wrong", label="wrong", model="territory.Assignment", node_field="person")
    assert check_source(wrong_target) == ["wrong: 'person' must point at territory.Node or be a path field"]
    assert check_source(Source(code="gone", label="gone", model="people.Nobody")) != []


def test_the_registered_sources_and_builtins_pass_the_system_check():
    from civicgrid.indicators.checks import indicator_registry_check

    assert indicator_registry_check() == []


# --- definitions -------------------------------------------------------------------------------


def test_create_validates_saves_audits_and_schedules_the_computation(world, django_capture_on_commit_callbacks):
    admin = base.user_with_scope(Role.COUNTY_ADMIN, world.district, username="admin")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        indicator = indicator_create(
            actor=admin, code="women-share", name="女性占比", unit="percent", target="50", direction="higher",
            numerator={"source": PEOPLE, "date_field": "created_at", "filters": {"sex": "F"}, "window": "cumulative"},
            denominator={"source": PEOPLE, "date_field": "created_at", "window": "cumulative"},
        )
    assert (indicator.code, indicator.target, indicator.is_builtin) == ("women_share", Decimal("50"), False)
    assert len(callbacks) == 1
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(task_path="civicgrid.indicators.tasks.recompute_indicators").count() == 1
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="indicators.indicator")
    assert (event.actor, event.object_id) == (admin, str(indicator.pk))
    with pytest.raises(ApplicationError) as error:
        indicator_create(actor=admin, code="women_share", name="重复", numerator={"source": PEOPLE, "date_field": "created_at"},
                         denominator={"source": PEOPLE, "date_field": "created_at"})
    assert error.value.message == "指标编码 women_share 已存在。"
    with pytest.raises(ApplicationError) as error:
        indicator_create(actor=admin, code="no_den", name="无分母", numerator={"source": PEOPLE, "date_field": "created_at"})
    assert error.value.message == "比率指标须有分母（只计数量请选单位“数量”）。"
    with pytest.raises(ApplicationError) as error:
        indicator_create(actor=admin, code="bad_region", name="区域", unit="count", region_code="999",
                         numerator={"source": PEOPLE, "date_field": "created_at"})
    assert error.value.message == "适用区域的节点编码不存在：999。"
    count = indicator_create(actor=admin, code="registered", name="登记人数", unit="count", region_code=world.town_a.code,
                             numerator={"source": PEOPLE, "date_field": "created_at"},
                             denominator={"source": PEOPLE, "date_field": "created_at"})
    assert (count.denominator, count.region_path) == (None, world.town_a.path)


def test_only_managers_change_definitions(world):
    cadre = base.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="cadre")
    with pytest.raises(PermissionError):
        indicator_create(actor=cadre, code="x", name="x", unit="count", numerator={"source": PEOPLE, "date_field": "created_at"})
    indicator = factories.table_indicator()
    with pytest.raises(PermissionError):
        indicator_update(actor=cadre, indicator=indicator, target=Decimal(1))


def test_update_keeps_a_diff_in_the_audit_trail(world):
    admin = base.user_with_scope(Role.COUNTY_ADMIN, world.district, username="admin")
    indicator = factories.table_indicator(target=Decimal("90"))
    updated = indicator_update(actor=admin, indicator=indicator, target=Decimal("92.5"), name="新名称")
    assert (updated.target, updated.name) == (Decimal("92.5"), "新名称")
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="indicators.indicator")
    assert (event.before, event.after) == ({"name": "table_rate", "target": "90.0000"}, {"name": "新名称", "target": "92.5000"})
    with pytest.raises(ApplicationError) as error:
        indicator_update(actor=admin, indicator=updated, valid_from=TODAY, valid_to=TODAY)
    assert error.value.message == "停用日期须晚于启用日期。"


def test_sync_creates_updates_and_keeps_what_administrators_set(world):
    definition = register_builtin(BuiltinIndicator(
        code="test_builtin", name="测试内置", numerator=Measure(factories.TABLE, aggregate="sum", sum_field="num"),
        denominator=Measure(factories.TABLE, aggregate="sum", sum_field="den"), target=Decimal("80"),
    ))
    try:
        first = indicators_sync_builtins(enqueue=False)
        assert first["created"] >= 2  # this one and territory's coverage (and any other app's)
        created = Indicator.objects.get(code="test_builtin")
        assert (created.is_builtin, created.target, created.name) == (True, Decimal("80"), "测试内置")
        assert indicators_sync_builtins(enqueue=False) == {"created": 0, "updated": 0, "unchanged": first["created"]}
        admin = base.user_with_scope(Role.COUNTY_ADMIN, world.district, username="admin")
        indicator_update(actor=admin, indicator=created, target=Decimal("85"), name="本地名称")
        with pytest.raises(ApplicationError) as error:
            indicator_update(actor=admin, indicator=created, period="year")
        assert error.value.message == "内置指标的公式由系统维护，不能修改：period。"
        register_builtin(BuiltinIndicator(
            code="test_builtin", name="测试内置", numerator=Measure(factories.TABLE, aggregate="sum", sum_field="num",
                                                                     filters={"tag": "a"}),
            denominator=Measure(factories.TABLE, aggregate="sum", sum_field="den"), target=Decimal("80"),
        ))
        assert indicators_sync_builtins(enqueue=False)["updated"] == 1
        synced = Indicator.objects.get(code="test_builtin")
        assert synced.numerator["filters"] == {"tag": "a"}
        assert (synced.target, synced.name) == (Decimal("85"), "本地名称")
    finally:
        _BUILTINS.pop(definition.code, None)


# --- commands and tasks ------------------------------------------------------------------------


def test_the_console_command_syncs_recomputes_and_refreshes(world, test_sources):
    out = io.StringIO()
    call_command("indicators", "sync", stdout=out)
    assert out.getvalue() == f"内置指标：新增 {len(builtins())}，更新 0，未变 0\n"
    Indicator.objects.update(is_active=False)
    test_sources.add(world.village_a, TODAY.replace(day=1), 1, 2)
    factories.table_indicator()
    out = io.StringIO()
    call_command("indicators", "recompute", "--indicator", "table_rate", "--from", TODAY.isoformat(),
                 "--no-progress", stdout=out, stderr=io.StringIO())
    assert out.getvalue() == "table_rate: 3 行\n"  # district, town A, village A for this month
    with pytest.raises(CommandError, match="未知的指标编码：nothing。"):
        call_command("indicators", "recompute", "--indicator", "nothing", "--no-progress", stderr=io.StringIO())
    with pytest.raises(CommandError, match="日期格式应为 YYYY-MM-DD"):
        call_command("indicators", "recompute", "--from", "yesterday", "--no-progress", stderr=io.StringIO())
    IndicatorValue.objects.all().delete()
    out = io.StringIO()
    call_command("indicators", "refresh", stdout=out)
    assert out.getvalue() == "已重算本期：3 行\n"
    assert IndicatorValue.objects.filter(period_start=TODAY.replace(day=1), as_of=TODAY).count() == 3


def test_tasks_run_the_services(world, test_sources):
    test_sources.add(world.village_b, TODAY.replace(day=1), 3, 4)
    indicator = factories.table_indicator()
    assert recompute_indicators.call(["table_rate"], TODAY.isoformat()) == {"table_rate": 3}
    IndicatorValue.objects.filter(indicator=indicator).update(numerator=0)
    assert refresh_running_periods.call() == 3
    assert IndicatorValue.objects.get(indicator=indicator, node=world.town_b).numerator == 3
    assert indicators_refresh_current(today=TODAY) == 3


def test_batch_jobs_skip_an_indicator_whose_source_is_gone(world, test_sources, caplog):
    test_sources.add(world.village_a, TODAY, 1, 1)
    factories.table_indicator()
    orphan = factories.indicator("orphan", Measure(PEOPLE, date_field="created_at"), None, unit="count")
    Indicator.objects.filter(pk=orphan.pk).update(numerator={"source": "removed.app", "date_field": "x"})
    assert indicator_recompute_all(first=TODAY) == {"table_rate": 3}
    assert indicators_refresh_current() == 3
    assert "indicator orphan skipped: numerator：未知的指标数据源：removed.app。" in caplog.text


def test_recompute_replaces_stale_rows_and_reports_progress(world, test_sources):
    indicator = factories.table_indicator()
    test_sources.add(world.village_a, TODAY - dt.timedelta(days=800), 1, 1)
    steps = []
    written = indicator_recompute(indicator=indicator, first=TODAY - dt.timedelta(days=800),
                                  progress=lambda done, total: steps.append((done, total)))
    months = len({(TODAY - dt.timedelta(days=d)).replace(day=1) for d in range(801)})
    assert written == months * 3
    assert steps == [(1, 2), (2, 2)]  # twenty-five months a step
    IndicatorValue.objects.filter(indicator=indicator).update(numerator=99)
    indicator_recompute(indicator=indicator, first=TODAY - dt.timedelta(days=800))
    assert set(IndicatorValue.objects.filter(indicator=indicator).values_list("numerator", flat=True)) == {1}
