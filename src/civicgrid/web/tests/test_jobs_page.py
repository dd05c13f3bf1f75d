"""The scheduled jobs page (定时任务): every declared job with its last run, result and next due time,
for the county administrator; the role × URL matrix (security_matrix.yaml) covers who else gets 403."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from civicgrid.accounts.roles import Role
from civicgrid.core.scheduling import scheduler_tick
from civicgrid.testing import factories
from civicgrid.web.tests.bodies import body_text


@pytest.fixture
def admin_client(world):
    client = Client()
    client.force_login(factories.user_with_scope(Role.COUNTY_ADMIN, world.district))
    return client


def test_county_admin_sees_every_job(admin_client, django_assert_max_num_queries):
    scheduler_tick(now=dt.datetime(2026, 11, 29, 2, 0, tzinfo=dt.UTC))
    scheduler_tick(now=dt.datetime(2026, 11, 29, 19, 45, tzinfo=dt.UTC))  # 03:45 next day in Shanghai: all four due
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("web:jobs"))
    assert response.status_code == 200
    text = body_text(response)
    for name in ("cases.escalate_overdue", "indicators.refresh_running_periods", "core.audit_purge", "people.purge_deleted"):
        assert name in text
    assert "逾期问题逐级升级督办" in text
    assert "每日 01:00" in text
    assert "排队中" in text  # enqueued, no worker has run them
    assert "2026-11-30 03:00" in text  # the audit purge that ran (local time)
    assert "2026-12-01 03:00" in text  # and its next one


def test_navigation_links_the_page_for_the_county_admin_only(admin_client, world):
    assert reverse("web:jobs") in admin_client.get(reverse("web:home")).content.decode()
    officer = Client()
    officer.force_login(factories.user_with_scope(Role.TOWN_OFFICER, world.town_a))
    assert reverse("web:jobs") not in officer.get(reverse("web:home")).content.decode()
    assert officer.get(reverse("web:jobs")).status_code == 403
