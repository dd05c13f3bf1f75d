"""The whole loop in a real browser (Playwright + Debian's Chromium, recipes §1): an inspector records an
inspection with a failed item; the case appears routed to the post officer; the officer starts it and
submits the fix with a photo; a different account verifies it; the case is closed and the closure-rate
card of the indicators dashboard moves. No console errors (a CSP violation would be one)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from civicgrid.cases.models import Case, CaseStatus
from civicgrid.cases.tests.factories import png_bytes, policing, published_standard
from civicgrid.testing import factories
from civicgrid.web.tests.conftest import browser_context_args, browser_type_launch_args  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def loop(world, settings, tmp_path):
    """The traffic grid, the intersection standard, and the built-in indicators with stored values."""
    from civicgrid.indicators.services import indicator_recompute_all, indicators_sync_builtins

    settings.MEDIA_ROOT = tmp_path / "media"
    grid = policing(world)
    version = published_standard()
    indicators_sync_builtins(enqueue=False)
    indicator_recompute_all(first=timezone.localdate().replace(day=1))
    return {"grid": grid, "version": version}


def _sign_in(page: Page, base: str, username: str) -> None:
    page.goto(base + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + reverse("web:home"))


def _sign_out(page: Page) -> None:
    page.wait_for_load_state("networkidle")  # photos still loading would meet a session already ended
    page.locator("form[action='/accounts/logout/'] button").click()
    page.wait_for_url("**/accounts/login/**")


def _closure_card(page: Page, base: str, node_id: int) -> str:
    page.goto(f"{base}{reverse('indicators:dashboard')}?node={node_id}")
    card = page.locator(".indicator-card", has_text="结案率").first
    expect(card).to_be_visible()
    return card.locator(".card-value").inner_text().strip()


def _save_item(page: Page, code: str) -> None:
    row = page.locator(".item-row", has_text=code)
    row.locator("button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text(f"已记录 {code}")


def test_inspection_to_verified_fix(live_server, page: Page, loop):
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    base = live_server.url
    grid, version = loop["grid"], loop["version"]
    failed_responses: list[str] = []
    page.on("response", lambda response: failed_responses.append(f"{response.status} {response.url}")
            if response.status >= 400 else None)
    if connection.vendor == "sqlite":
        # Each signed-in request saves the session; the in-memory shared-cache SQLite test database
        # refuses a second concurrent writer at once ("database table is locked") where a real SQLite file
        # (WAL, busy_timeout) or PostgreSQL waits. Fetch the photos one at a time, as the file would.
        page.route("**/cases/evidence/**", lambda route: route.fulfill(response=route.fetch()))
    today = timezone.localdate().isoformat()

    # 1. The inspector records an inspection of the post with one failed item and completes it.
    _sign_in(page, base, grid.inspector.username)
    page.goto(base + reverse("cases:inspection_create"))
    expect(page).to_have_title("开始检查 · civicgrid")
    page.select_option("#id_version", str(version.pk))
    page.select_option("#id_node", str(grid.post.pk))
    page.fill("#id_inspected_on", today)
    page.locator("main form.form button[type=submit]").click()  # not the top bar's sign-out button
    expect(page).to_have_title("记录检查结果 · civicgrid")

    failed = page.locator(".item-row", has_text="1.1 礼让斑马线")
    failed.get_by_label("不合格").check()
    failed.locator("input[name=note]").fill("出租车未礼让行人")
    failed.locator("input[name=photos]").set_input_files(
        {"name": "现场.png", "mimeType": "image/png", "buffer": png_bytes(8, 6, (220, 40, 40))}
    )
    _save_item(page, "1.1")
    page.locator(".item-row", has_text="1.2 信号灯正常").get_by_label("合格", exact=True).check()
    _save_item(page, "1.2")
    page.locator(".item-row", has_text="2.1 标志标线规范清晰").locator("input[name=points]").fill("10")
    _save_item(page, "2.1")
    page.locator(".item-row", has_text="2.2 行人遵章率").locator("input[name=measured]").fill("99")
    _save_item(page, "2.2")
    page.fill("#id_deadline", today)
    page.locator("#complete-form button[type=submit]").click()
    expect(page).to_have_title("检查详情 · civicgrid")
    expect(page.locator(".alert-success")).to_contain_text("发现问题 1 个")
    case = Case.objects.get()
    assert (case.responsible_person, case.assignee, case.status) == (grid.officer, grid.officer_user, "assigned")
    _sign_out(page)

    # 2. The officer finds it in "my cases", starts it and submits the fix with a photo.
    _sign_in(page, base, grid.officer_user.username)
    page.goto(base + reverse("cases:my"))
    row = page.locator("table.cases-table tbody tr", has_text="礼让斑马线")
    expect(row).to_contain_text("已分派")
    row.get_by_role("link", name="礼让斑马线").click()
    expect(page.locator("h1")).to_contain_text("礼让斑马线")
    expect(page.locator(".photo-pairs img")).to_have_count(1)  # the inspector's before-photo
    page.locator("form.action-start button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("已开始整改")
    submit = page.locator("form.action-submit")
    submit.locator("textarea").fill("已在路口增设礼让提示牌并约谈出租车公司")
    submit.locator("input[type=file]").set_input_files(
        {"name": "整改后.png", "mimeType": "image/png", "buffer": png_bytes(8, 6, (40, 160, 60))}
    )
    submit.locator("button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("整改已提交")
    expect(page.locator("h1 .status")).to_have_text("待核查")
    expect(page.locator("form.action-verify")).to_have_count(0)  # never one's own fix (交叉复核)
    _sign_out(page)

    # 3. The squad leader sees the dashboard, verifies the fix, and the closure rate moves.
    _sign_in(page, base, grid.line_leader_user.username)
    before = _closure_card(page, base, grid.line.pk)
    page.goto(base + reverse("cases:detail", args=[case.pk]))
    expect(page.locator(".photo-pairs img")).to_have_count(2)  # before and after, side by side
    page.locator("form.action-verify button[type=submit]").click()
    expect(page.locator(".alert-success")).to_contain_text("核查通过，问题已销号")
    expect(page.locator("h1 .status")).to_have_text("已销号")
    expect(page.locator(".timeline")).to_contain_text("核查通过销号")
    after = _closure_card(page, base, grid.line.pk)
    # one case due this month: 0 of 1 closed before, 1 of 1 after (the engine's display decides the decimals)
    assert (float(before.rstrip("%")), float(after.rstrip("%"))) == (0.0, 100.0)

    case.refresh_from_db()
    assert (case.status, case.closed_on_time, case.verified_by, case.submitted_by) == (
        CaseStatus.CLOSED, True, grid.line_leader_user, grid.officer_user
    )
    assert (problems, failed_responses) == ([], [])
