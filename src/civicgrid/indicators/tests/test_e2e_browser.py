"""The dashboard in a real browser (Playwright + Debian's Chromium): cards, the trend, the ranking and
the choropleth draw under the strict CSP, and clicking a town on the map opens that town's dashboard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from civicgrid.accounts.roles import Role
from civicgrid.indicators.services import indicator_recompute_all, indicators_sync_builtins
from civicgrid.territory.models import NodeKind, ResponsibilityRole
from civicgrid.territory.services import assignment_start
from civicgrid.testing import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def county():
    """A district with two mapped towns and a village each; town A's leader and village A's cadre in post."""
    district = factories.node(None, NodeKind.DISTRICT, "高新区", code="371571", geometry=factories.square(116.0, 36.4, 0.4))
    town_a = factories.node(district, NodeKind.TOWN, "顾官屯镇", code="371571100", geometry=factories.square(116.0, 36.4, 0.2))
    town_b = factories.node(district, NodeKind.TOWN, "许营镇", code="371571101", geometry=factories.square(116.2, 36.4, 0.2))
    village_a = factories.node(town_a, NodeKind.VILLAGE, "枣寨村", code="371571100201", geometry=factories.square(116.0, 36.4, 0.1))
    factories.node(town_b, NodeKind.VILLAGE, "前寨村", code="371571101201", geometry=factories.square(116.2, 36.4, 0.1))
    since = timezone.localdate() - dt.timedelta(days=90)
    for node, role, name in ((town_a, ResponsibilityRole.TOWN_LEADER, "周德明"),
                             (village_a, ResponsibilityRole.VILLAGE_CADRE, "孙为民")):
        assignment_start(actor=None, person=factories.person(node, name=name), node=node, role=role, valid_from=since)
    indicators_sync_builtins(enqueue=False)
    indicator_recompute_all(codes=["responsibility_coverage"])
    admin = factories.user_with_scope(Role.COUNTY_ADMIN, district, username="zhang_county")
    return {"district": district, "town_a": town_a, "admin": admin}


def test_dashboard_draws_and_drills_down_from_the_map(live_server, page: Page, county):
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(live_server.url + reverse("login"))
    page.fill("#id_username", county["admin"].username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server.url + reverse("web:home"))

    page.goto(f"{live_server.url}{reverse('indicators:dashboard')}?indicator=responsibility_coverage")
    expect(page.locator("h1")).to_contain_text("高新区")
    card = page.locator(".indicator-card.selected")
    expect(card).to_contain_text("包干覆盖率")
    expect(card).to_contain_text("50.00%")  # town A and village A of four nodes needing a holder
    for chart in ("#trend-chart", "#ranking-chart", "#indicator-map"):
        expect(page.locator(f"{chart} canvas").first).to_be_visible(timeout=15_000)
    expect(page.locator("table.table tbody tr").first).to_contain_text("顾官屯镇")

    # Click the middle of town A's square on the map: the town's own dashboard opens.
    page.locator("#indicator-map").scroll_into_view_if_needed()
    point = page.evaluate(
        """() => {
          const el = document.getElementById("indicator-map");
          const [x, y] = echarts.getInstanceByDom(el).convertToPixel({geoIndex: 0}, [116.1, 36.5]);
          const box = el.getBoundingClientRect();
          return [box.left + x, box.top + y];
        }"""
    )
    page.mouse.click(point[0], point[1])
    page.wait_for_url(f"**node={county['town_a'].pk}**")
    expect(page.locator("h1")).to_contain_text("顾官屯镇")
    expect(page.locator(".indicator-card.selected")).to_contain_text("100.00%")
    assert problems == []
