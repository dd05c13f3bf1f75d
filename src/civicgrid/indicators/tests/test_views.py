"""Pages and API: 200 / 403 / 404, what they show, the export's content and audit row, the
definitions pages, and query budgets (pages read stored values only)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from civicgrid import indicators
from civicgrid.accounts.roles import Role
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.indicators.models import Indicator, IndicatorValue
from civicgrid.indicators.periods import period_start
from civicgrid.indicators.services import indicator_recompute
from civicgrid.indicators.tests import factories
from civicgrid.territory.models import NodeKind
from civicgrid.testing import factories as base

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
THIS_MONTH = period_start("month", TODAY)
LAST_MONTH = period_start("month", THIS_MONTH - dt.timedelta(days=1))
MAP_SQUARE = {"type": "Polygon", "coordinates": [[[116.0, 36.4], [116.1, 36.4], [116.1, 36.5], [116.0, 36.5], [116.0, 36.4]]]}


@pytest.fixture
def scene(world, test_sources):
    """The table indicator (target 80 %) on last and this month: town A 12/14, town B 1/100; and a
    'lower is better' one over the same facts; accounts for the district, town A and a clerk."""
    east = base.node(world.town_a, NodeKind.VILLAGE, "东寨村", geometry=MAP_SQUARE)
    test_sources.add(world.village_a, LAST_MONTH, 9, 10)
    test_sources.add(east, LAST_MONTH, 3, 4)
    test_sources.add(world.village_b, LAST_MONTH, 1, 100)
    rate = factories.table_indicator(target=Decimal("80"), name="测试率", order=1)
    lower = factories.table_indicator("lower_rate", direction="lower", name="越低越好率")
    for item in (rate, lower):
        indicator_recompute(indicator=item, first=LAST_MONTH)

    def client(role: str, node) -> Client:
        signed_in = Client()
        signed_in.force_login(base.user_with_scope(role, node, username=f"{role}-{node.code}"))
        return signed_in

    return {"world": world, "east": east, "rate": rate, "lower": lower, "client": client}


def _chart_data(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="indicator-data" type="application/json">') + len(
        '<script id="indicator-data" type="application/json">'
    )
    return json.loads(html[start:html.index("</script>", start)])


# --- dashboard ---------------------------------------------------------------------------------


def test_dashboard_defaults_to_the_top_node_and_shows_cards_ranking_and_map(scene, django_assert_max_num_queries):
    world = scene["world"]
    client = scene["client"](Role.TOWN_OFFICER, world.town_a)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("indicators:dashboard"), {"on": LAST_MONTH.isoformat()})
    assert response.status_code == 200
    text = response.content.decode()
    assert "顾官屯镇" in text
    assert "85.71%" in text
    assert "许营镇" not in text
    assert "前寨村" not in text
    data = _chart_data(response)
    assert data["indicator"]["code"] == "table_rate"
    assert [(row["name"], row["rank"], row["display"], row["attainment"]) for row in data["ranking"]] == [
        ("枣寨村", 1, "90.00%", "met"), ("东寨村", 2, "75.00%", "off")
    ]
    assert [f["properties"]["name"] for f in data["map"]["features"]] == ["东寨村"]  # the only child with geometry
    assert data["map"]["features"][0]["properties"]["url"] == (
        f"{reverse('indicators:dashboard')}?node={scene['east'].pk}&indicator=table_rate&on={LAST_MONTH.isoformat()}"
    )
    assert [point["value"] for point in data["trend"]][-2:] == [None, 85.7143]  # the trend ends with `on`


def _chart_labels(response) -> dict[str, str]:
    """The data-* attributes of the #chart-labels element the page hands to charts.js."""
    parser = _ChartLabels()
    parser.feed(response.content.decode())
    assert parser.labels is not None, "no #chart-labels element on the page"
    return parser.labels


class _ChartLabels(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.labels: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id") == "chart-labels":
            self.labels = {name[5:]: value or "" for name, value in attrs if name.startswith("data-")}


CHART_LABELS_ZH = {
    "empty": "暂无数据", "target": "目标 {value}", "rank": "第 {rank} 名", "responsible": "责任人：{name}",
    "fraction": "（{numerator} / {denominator}）", "error": "图表加载失败",
}
CHART_LABELS_EN = {
    "empty": "No data yet", "target": "Target {value}", "rank": "No. {rank}", "responsible": "Responsible: {name}",
    "fraction": " ({numerator} / {denominator})", "error": "The chart failed to load",
}


@pytest.mark.parametrize("url_name", ["indicators:dashboard", "indicators:detail"])
def test_chart_labels_follow_the_page_language(scene, settings, url_name):
    client = scene["client"](Role.TOWN_OFFICER, scene["world"].town_a)
    url = reverse(url_name, args=["table_rate"] if url_name == "indicators:detail" else [])
    assert _chart_labels(client.get(url)) == CHART_LABELS_ZH
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(url)
    assert '<html lang="en">' in response.content.decode()
    assert _chart_labels(response) == CHART_LABELS_EN


def test_charts_script_holds_no_words_of_its_own():
    """Every text charts.js shows comes from #chart-labels; a Chinese literal would reach English pages."""
    script = Path(indicators.__file__).parent / "static" / "indicators" / "charts.js"
    source = script.read_text(encoding="utf-8")
    assert re.findall(r"[\u3400-\u9fff\uff08\uff09\uff1a]+", source) == []
    for key in CHART_LABELS_EN:
        assert f'fill("{key}"' in source or f"LABELS.{key}" in source, key


def test_dashboard_of_a_node_ranks_by_the_indicators_direction(scene):
    world = scene["world"]
    client = scene["client"](Role.COUNTY_ADMIN, world.district)
    response = client.get(reverse("indicators:dashboard"), {"node": world.district.pk, "indicator": "lower_rate",
                                                              "on": LAST_MONTH.isoformat()})
    assert [row["name"] for row in _chart_data(response)["ranking"]] == ["许营镇", "顾官屯镇"]
    response = client.get(reverse("indicators:dashboard"), {"code": world.town_b.code})
    assert response.status_code == 200
    assert response.context["node"] == world.town_b


def test_dashboard_refuses_nodes_outside_the_scope_and_roles_without_the_action(scene):
    world = scene["world"]
    client = scene["client"](Role.TOWN_OFFICER, world.town_a)
    for query in ({"node": world.village_b.pk}, {"node": world.district.pk}, {"node": "x"}, {"code": world.town_b.code}):
        assert client.get(reverse("indicators:dashboard"), query).status_code == 404
    clerk = scene["client"](Role.DEPARTMENT_CLERK, world.town_a)
    assert clerk.get(reverse("indicators:dashboard")).status_code == 403
    assert Client().get(reverse("indicators:dashboard")).status_code == 302
    # a malformed or ancient date is ignored, not a server error
    assert client.get(reverse("indicators:dashboard"), {"on": "0001-01-01"}).status_code == 200
    assert client.get(reverse("indicators:dashboard"), {"on": "2026-13-45"}).status_code == 200


def test_dashboard_query_count_does_not_grow_with_the_tree(scene, django_assert_max_num_queries):
    world = scene["world"]
    for number in range(15):
        village = base.node(world.town_a, NodeKind.VILLAGE, f"新村{number}", geometry=MAP_SQUARE)
        factories.TABLE_STATE.add(village, LAST_MONTH, number, 20)
    for item in (scene["rate"], scene["lower"]):
        indicator_recompute(indicator=item, first=LAST_MONTH)
    client = scene["client"](Role.COUNTY_ADMIN, world.district)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("indicators:dashboard"), {"node": world.town_a.pk})
    assert len(_chart_data(response)["ranking"]) == 17


# --- detail ------------------------------------------------------------------------------------


def test_detail_shows_the_value_as_of_a_day(scene, test_sources):
    world = scene["world"]
    client = scene["client"](Role.COUNTY_ADMIN, world.district)
    url = reverse("indicators:detail", args=["table_rate"])
    response = client.get(url, {"node": world.town_a.pk})
    assert response.status_code == 200
    assert response.context["a"].computed is False
    assert (response.context["a"].reading.numerator, response.context["a"].reading.denominator) == (12, 14)
    # Without a day the stored running period is shown even when it was counted through an earlier day.
    IndicatorValue.objects.filter(indicator=scene["rate"]).update(as_of=TODAY - dt.timedelta(days=1))
    stale = client.get(url, {"node": world.town_a.pk})
    assert (stale.context["a"].computed, stale.context["a"].day) == (False, TODAY - dt.timedelta(days=1))
    test_sources.add(world.village_a, LAST_MONTH + dt.timedelta(days=19), 5, 5)
    mid = client.get(url, {"node": world.town_a.pk, "on": (LAST_MONTH + dt.timedelta(days=20)).isoformat()})
    assert mid.context["a"].computed is True
    assert (mid.context["a"].reading.numerator, mid.context["a"].reading.denominator) == (17, 19)
    assert "按日实时计算" in mid.content.decode()
    assert client.get(reverse("indicators:detail", args=["nothing"]), {"node": world.town_a.pk}).status_code == 404
    town_a = scene["client"](Role.TOWN_OFFICER, world.town_a)
    assert town_a.get(url, {"node": world.town_b.pk}).status_code == 404


# --- export ------------------------------------------------------------------------------------


def test_export_writes_values_ranking_and_trend_and_is_audited(scene):
    world = scene["world"]
    client = scene["client"](Role.TOWN_OFFICER, world.town_a)
    response = client.get(reverse("indicators:export"), {"node": world.town_a.pk, "indicator": "table_rate",
                                                         "on": LAST_MONTH.isoformat()})
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    assert workbook.sheetnames == ["指标值", "下级排名", "趋势"]
    values = list(workbook["指标值"].iter_rows(values_only=True))
    assert values[1][:2] == ("table_rate", "测试率")
    assert (values[1][6], values[1][8], values[1][9], values[1][10], values[1][11]) == (85.7143, 80, "达标", 12, 14)
    ranking = list(workbook["下级排名"].iter_rows(values_only=True))
    assert [(row[1], row[3], row[5], row[6], row[7], row[8]) for row in ranking[1:]] == [
        (1, "枣寨村", 90, 9, 10, "达标"), (2, "东寨村", 75, 3, 4, "未达标")
    ]
    assert len(list(workbook["趋势"].iter_rows(values_only=True))) == 1 + 12
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert (event.object_type, event.scope_path, event.after["indicators"]) == (
        "indicators.indicatorvalue", world.town_a.path, ["table_rate"]
    )
    assert client.get(reverse("indicators:export"), {"node": world.town_b.pk}).status_code == 404
    inspector = scene["client"](Role.INSPECTOR, world.town_a)  # reads indicators, may not export
    assert inspector.get(reverse("indicators:export"), {"node": world.town_a.pk}).status_code == 403


# --- definitions -------------------------------------------------------------------------------


def test_definitions_list_create_and_edit(scene):
    world = scene["world"]
    admin = scene["client"](Role.COUNTY_ADMIN, world.district)
    response = admin.get(reverse("indicators:definitions"))
    assert response.status_code == 200
    assert "测试率" in response.content.decode()
    assert "test.people" in response.content.decode()
    form = {
        "code": "women_rate", "name": "女性占比", "unit": "percent", "direction": "higher", "period": "month",
        "numerator": json.dumps({"source": factories.PEOPLE_BY_NODE, "date_field": "created_at", "filters": {"sex": "F"}}),
        "denominator": json.dumps({"source": factories.PEOPLE_BY_NODE, "date_field": "nope"}),
        "target": "50", "region_code": "", "order": "100", "is_active": "on",
    }
    refused = admin.post(reverse("indicators:definition_create"), form)
    assert refused.status_code == 400
    assert f"分母：数据源 {factories.PEOPLE_BY_NODE} 没有日期字段 nope。" in refused.content.decode()
    form["denominator"] = json.dumps({"source": factories.PEOPLE_BY_NODE, "date_field": "created_at"})
    assert admin.post(reverse("indicators:definition_create"), form).status_code == 302
    created = Indicator.objects.get(code="women_rate")
    assert (created.name, created.target, created.numerator["filters"]) == ("女性占比", Decimal("50"), {"sex": "F"})
    edit = reverse("indicators:definition_edit", args=["women_rate"])
    assert admin.get(edit).status_code == 200
    assert admin.post(edit, {**form, "code": "renamed", "target": "60", "region_code": world.town_a.code}).status_code == 302
    created.refresh_from_db()
    assert (created.code, created.target, created.region_path) == ("women_rate", Decimal("60"), world.town_a.path)
    town = scene["client"](Role.TOWN_OFFICER, world.town_a)
    assert town.get(reverse("indicators:definitions")).status_code == 403
    assert town.post(edit, form).status_code == 403


def test_a_builtin_keeps_its_formula_when_edited(scene):
    from civicgrid.indicators.services import indicators_sync_builtins

    indicators_sync_builtins(enqueue=False)
    coverage = Indicator.objects.get(code="responsibility_coverage")
    admin = scene["client"](Role.COUNTY_ADMIN, scene["world"].district)
    form = {
        "name": "包干覆盖率（本地）", "target": "98", "region_code": "", "order": "5", "is_active": "on",
        # the formula fields are disabled: whatever is posted is ignored
        "numerator": json.dumps({"source": "nowhere"}), "unit": "count", "direction": "lower", "period": "year",
    }
    assert admin.post(reverse("indicators:definition_edit", args=["responsibility_coverage"]), form).status_code == 302
    coverage.refresh_from_db()
    assert (coverage.name, coverage.target, coverage.period, coverage.numerator["source"]) == (
        "包干覆盖率（本地）", Decimal("98"), "month", "territory.coverage"
    )


# --- API ---------------------------------------------------------------------------------------


def test_api_values_ranking_trend_and_definitions(scene, test_sources):
    world = scene["world"]
    client = scene["client"](Role.COUNTY_ADMIN, world.district)
    definitions = client.get("/api/indicators/definitions").json()
    assert [item["code"] for item in definitions] == ["table_rate", "lower_rate"]
    values = client.get("/api/indicators/values", {"node": world.town_a.pk, "indicator": "table_rate"}).json()
    item = values["items"][0]
    assert (item["numerator"], item["denominator"], item["value"], item["display"], item["attainment"], item["stored"]) == (
        12, 14, 85.7143, "85.71%", "met", True
    )
    test_sources.add(world.village_a, LAST_MONTH + dt.timedelta(days=19), 5, 5)
    as_of = client.get("/api/indicators/values", {"node": world.town_a.pk, "indicator": "table_rate",
                                                  "as_of": (LAST_MONTH + dt.timedelta(days=25)).isoformat()}).json()
    assert (as_of["items"][0]["numerator"], as_of["items"][0]["denominator"], as_of["items"][0]["stored"]) == (17, 19, False)
    ranking = client.get("/api/indicators/lower_rate/ranking", {"node": world.district.pk}).json()
    assert [(row["node"]["name"], row["rank"]) for row in ranking["items"]] == [("许营镇", 1), ("顾官屯镇", 2)]
    trend = client.get("/api/indicators/table_rate/trend", {"node": world.town_b.pk, "periods": 2}).json()
    assert [(row["period_start"], row["numerator"], row["denominator"]) for row in trend["items"]] == [
        (LAST_MONTH.isoformat(), 1, 100), (THIS_MONTH.isoformat(), 1, 100)
    ]
    assert client.get("/api/indicators/values", {"as_of": "1900-01-01"}).status_code == 400
    town = scene["client"](Role.TOWN_OFFICER, world.town_a)
    assert town.get("/api/indicators/values", {"node": world.town_b.pk}).status_code == 404
    assert town.get("/api/indicators/table_rate/ranking").json()["node"]["name"] == "顾官屯镇"
    assert town.get("/api/indicators/nothing/trend").status_code == 404
    clerk = scene["client"](Role.DEPARTMENT_CLERK, world.town_a)
    assert clerk.get("/api/indicators/definitions").status_code == 403
    assert Client().get("/api/indicators/definitions").status_code == 401


def test_stored_values_are_what_pages_read(scene, django_assert_max_num_queries):
    """The dashboard is served from IndicatorValue rows: changing a stored row changes the page."""
    world = scene["world"]
    IndicatorValue.objects.filter(indicator=scene["rate"], node=world.town_a, period_start=THIS_MONTH).update(
        numerator=1, denominator=4
    )
    client = scene["client"](Role.COUNTY_ADMIN, world.district)
    response = client.get(reverse("indicators:dashboard"), {"node": world.town_a.pk, "indicator": "table_rate"})
    assert "25.00%" in response.content.decode()
