"""A county administrator in a real browser (Playwright + Debian's Chromium, recipes §1): signs in
through the form, opens the territory tree with its map and the coverage report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from civicgrid.accounts.roles import Role
from civicgrid.territory.models import NodeKind, ResponsibilityRole
from civicgrid.territory.services import assignment_start
from civicgrid.testing import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def county():
    """A district with two towns and two villages, all drawn on the map; one village has no cadre."""
    district = factories.node(None, NodeKind.DISTRICT, "高新区", code="371571", geometry=factories.square(116.0, 36.4, 0.4))
    town_a = factories.node(district, NodeKind.TOWN, "顾官屯镇", code="371571100", geometry=factories.square(116.0, 36.4, 0.2))
    town_b = factories.node(district, NodeKind.TOWN, "许营镇", code="371571101", geometry=factories.square(116.2, 36.4, 0.2))
    village_a = factories.node(town_a, NodeKind.VILLAGE, "枣寨村", code="371571100201", geometry=factories.square(116.0, 36.4, 0.1))
    village_b = factories.node(town_b, NodeKind.VILLAGE, "前寨村", code="371571101201", geometry=factories.square(116.2, 36.4, 0.1))
    since = dt.date(2025, 1, 1)
    for node, role, name in (
        (town_a, ResponsibilityRole.TOWN_LEADER, "周德明"),
        (town_b, ResponsibilityRole.TOWN_LEADER, "吴桂芳"),
        (village_a, ResponsibilityRole.VILLAGE_CADRE, "孙为民"),
    ):
        assignment_start(actor=None, person=factories.person(node, name=name), node=node, role=role, valid_from=since)
    admin = factories.user_with_scope(Role.COUNTY_ADMIN, district, username="zhang_county")
    return {"district": district, "village_b": village_b, "admin": admin}


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(base + reverse("login"))
    expect(page).to_have_title("登录 · civicgrid")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + reverse("web:home"))


def test_county_admin_sees_the_tree_map_and_coverage_gaps(live_server, page: Page, county):
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    _sign_in(page, live_server.url, county["admin"].username)

    page.goto(live_server.url + reverse("territory:tree"))
    expect(page).to_have_title("网格与地图 · civicgrid")
    expect(page.locator("h1")).to_have_text("网格与地图")
    tree = page.locator("ul.tree").first
    for name in ("高新区", "顾官屯镇", "许营镇"):
        expect(tree).to_contain_text(name)
    # ECharts draws the map into a canvas inside the map container (scripts from 'self' under the CSP).
    expect(page.locator("#territory-map canvas").first).to_be_visible(timeout=15_000)

    page.goto(live_server.url + reverse("territory:coverage"))
    expect(page).to_have_title("包干覆盖报告 · civicgrid")
    gaps = page.locator("table.table tbody tr")
    expect(gaps).to_have_count(1)
    expect(gaps.first).to_contain_text("前寨村")
    expect(gaps.first).to_contain_text(county["village_b"].code)
    expect(gaps.first).to_contain_text("包村干部")
    expect(page.locator(".card").first).to_contain_text("75.0%")

    assert problems == []
