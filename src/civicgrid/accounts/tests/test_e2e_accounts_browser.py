"""A system administrator in a real browser (Playwright + Debian's Chromium, recipes §1): creates an
account with a data-scope grant, reads the one-time password, signs out; the new user signs in with it
and is kept on the password change page until choosing their own password."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Page, expect

from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Role
from civicgrid.territory.models import Grant, NodeKind
from civicgrid.testing import factories

# The Chromium launch fixtures of the web tests (skip locally without Chromium, fail under CI).
from civicgrid.web.tests.conftest import browser_context_args, browser_type_launch_args  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NEW_PASSWORD = "Own-choice-2027"


@pytest.fixture
def county():
    district = factories.node(None, NodeKind.DISTRICT, "高新区", code="371571")
    town = factories.node(district, NodeKind.TOWN, "顾官屯镇", code="371571100")
    village = factories.node(town, NodeKind.VILLAGE, "枣寨村", code="371571100201")
    admin = factories.user_with_scope(Role.SYSTEM_ADMIN, district, username="sun.hongwei")
    return {"village": village, "admin": admin}


def _sign_in(page: Page, base: str, username: str, password: str) -> None:
    page.goto(base + reverse("login"))
    expect(page).to_have_title("登录 · civicgrid")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def test_admin_creates_an_account_and_the_user_must_change_the_temporary_password(live_server, page: Page, county):
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    base = live_server.url

    _sign_in(page, base, "sun.hongwei", factories.PASSWORD)
    page.wait_for_url(base + reverse("web:home"))
    page.get_by_role("link", name="账号管理").click()
    expect(page).to_have_title("账号管理 · civicgrid")
    page.get_by_role("link", name="新建账号").click()
    expect(page).to_have_title("新建账号 · civicgrid")
    page.fill("#id_username", "li.ming")
    page.fill("#id_display_name", "李明")
    page.select_option("#id_role", Role.VILLAGE_CADRE.value)
    page.select_option("#id_nodes", [county["village"].code])
    page.get_by_role("button", name="保存").click()

    expect(page.locator("h1")).to_have_text("账号已创建")
    temporary = page.locator("#temporary-password").inner_text().strip()
    assert re.fullmatch(r"\S{12}", temporary)
    account = User.objects.get(username="li.ming")
    assert account.must_change_password
    assert list(Grant.objects.filter(user=account).values_list("node__code", flat=True)) == [county["village"].code]

    page.get_by_role("button", name="退出").click()
    page.wait_for_url(re.compile(r".*/accounts/login/.*"))

    _sign_in(page, base, "li.ming", temporary)
    page.wait_for_url(base + reverse("password_change"))
    expect(page.locator("#must-change-password")).to_be_visible()
    page.goto(base + reverse("territory:tree"))  # any other page sends the user back
    page.wait_for_url(base + reverse("password_change"))
    page.fill("#id_old_password", temporary)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.get_by_role("button", name="保存").click()
    page.wait_for_url(base + reverse("password_change_done"))
    page.goto(base + reverse("territory:tree"))
    expect(page).to_have_title("网格与地图 · civicgrid")
    account.refresh_from_db()
    assert not account.must_change_password
    assert account.check_password(NEW_PASSWORD)
    assert problems == []
