"""Account pages through the test client: forms, errors shown on the page, the one-time password page,
scoping (another town's account is 404), the navigation entry, and no personal data for the system
administrator. The role × URL matrix (web/tests/security_matrix.yaml) covers who may open each page."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from django.urls import resolve, reverse
from django.utils.html import escape
from django.views.debug import SafeExceptionReporterFilter

from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Role
from civicgrid.core.masking import mask_id_number
from civicgrid.core.models import AuditEvent
from civicgrid.people.models import Person
from civicgrid.territory.models import Grant
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def town_admin(world):
    return factories.user_with_scope(Role.SYSTEM_ADMIN, world.town_a, username="town_admin")


@pytest.fixture
def root_admin(world):
    return factories.user_with_scope(Role.SYSTEM_ADMIN, world.district, username="root_admin")


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _create(client: Client, world, **overrides):
    data = {"username": "li.ming", "display_name": "李明", "role": Role.VILLAGE_CADRE, "department": "",
            "nodes": [world.village_a.code], "id_number": ""}
    data.update(overrides)
    return client.post(reverse("accounts:create"), data)


def test_create_shows_the_temporary_password_once(world, town_admin):
    client = _client(town_admin)
    form = client.get(reverse("accounts:create"))
    assert form.status_code == 200
    assert world.village_a.code in form.content.decode()
    assert world.village_b.code not in form.content.decode()
    response = _create(client, world)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    account = User.objects.get(username="li.ming")
    password = response.context["temporary_password"]
    shown = escape(password)  # as the page writes it (a symbol such as & is escaped in HTML)
    assert shown in response.content.decode()
    assert account.check_password(password)
    assert account.must_change_password
    # Nowhere else: not on the detail page, not in a message, not in the session, not in the audit trail.
    detail = client.get(reverse("accounts:detail", args=["li.ming"]))
    assert shown not in detail.content.decode()
    assert password not in str(dict(client.session))
    assert password not in str(list(AuditEvent.objects.values_list("before", "after", "object_repr")))


def test_duplicate_and_reserved_names_and_outside_nodes_are_shown_on_the_form(world, town_admin):
    client = _client(town_admin)
    _create(client, world)
    for overrides, message in (
        ({}, "该账号已存在。"),
        ({"username": "admin"}, "系统保留名"),
        ({"username": "wang.wu", "nodes": [world.village_b.code]}, "不存在或不在您的数据范围内"),
        ({"username": "wang.wu", "nodes": []}, "至少授权一个数据范围"),
        ({"username": "wang.wu", "role": Role.AUDITOR}, "根节点"),
        ({"username": "wang.wu", "id_number": world.person_b.id_number}, "在您的数据范围内没有该身份证号的人员"),
    ):
        response = _create(client, world, **overrides)
        assert (overrides, response.status_code) == (overrides, 400)
        assert message in response.content.decode(), overrides
    assert User.objects.filter(username="wang.wu").count() == 0


def test_another_towns_account_is_404_on_every_page(world, town_admin):
    other = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_b, username="other.town")
    client = _client(town_admin)
    assert client.get(reverse("accounts:detail", args=["other.town"])).status_code == 404
    assert client.get(reverse("accounts:edit", args=["other.town"])).status_code == 404
    assert client.get(reverse("accounts:detail", args=["no.such.user"])).status_code == 404
    for name in ("grant_add", "grant_remove", "deactivate", "reactivate", "unlock", "reset_password", "person"):
        assert client.post(reverse(f"accounts:{name}", args=["other.town"]), {}).status_code == 404, name
    listing = client.get(reverse("accounts:list")).content.decode()
    assert "other.town" not in listing
    other.refresh_from_db()
    assert other.is_active


def test_edit_grant_deactivate_reset_and_unlock_through_the_pages(world, town_admin):
    client = _client(town_admin)
    _create(client, world)
    detail_url = reverse("accounts:detail", args=["li.ming"])
    edit = client.post(reverse("accounts:edit", args=["li.ming"]),
                       {"display_name": "李明明", "role": Role.TOWN_OFFICER, "department": ""})
    assert (edit.status_code, edit["Location"]) == (302, detail_url)
    assert client.post(reverse("accounts:grant_add", args=["li.ming"]), {"node": world.town_a.code}).status_code == 302
    refused = client.post(reverse("accounts:grant_add", args=["li.ming"]), {"node": world.town_b.code})
    assert refused.status_code == 400
    assert "不存在或不在您的数据范围内" in refused.content.decode()
    assert client.post(reverse("accounts:grant_remove", args=["li.ming"]), {"node": world.village_a.code}).status_code == 302
    account = User.objects.get(username="li.ming")
    assert (account.display_name, account.role) == ("李明明", Role.TOWN_OFFICER)
    assert list(Grant.objects.filter(user=account).values_list("node__code", flat=True)) == [world.town_a.code]
    assert client.post(reverse("accounts:deactivate", args=["li.ming"])).status_code == 302
    account.refresh_from_db()
    assert not account.is_active
    assert client.post(reverse("accounts:reactivate", args=["li.ming"])).status_code == 302
    account.refresh_from_db()
    assert account.is_active
    reset = client.post(reverse("accounts:reset_password", args=["li.ming"]))
    assert reset.status_code == 200
    account.refresh_from_db()
    assert account.check_password(reset.context["temporary_password"])
    AccessAttempt.objects.create(username="li.ming", ip_address="10.0.0.1", user_agent="", failures_since_start=5,
                                 get_data="", post_data="", http_accept="", path_info="/accounts/login/")
    assert "解除锁定" in client.get(detail_url).content.decode()
    assert client.post(reverse("accounts:unlock", args=["li.ming"])).status_code == 302
    assert not AccessAttempt.objects.filter(username="li.ming").exists()


def test_own_account_cannot_be_deactivated_or_re_roled_through_the_pages(world, root_admin):
    client = _client(root_admin)
    response = client.post(reverse("accounts:deactivate", args=["root_admin"]), follow=True)
    assert "不能停用或启用自己的账号" in response.content.decode()
    edit = client.post(reverse("accounts:edit", args=["root_admin"]),
                       {"display_name": "x", "role": Role.COUNTY_ADMIN, "department": ""})
    assert edit.status_code == 400
    assert "不能修改自己的角色" in edit.content.decode()
    root_admin.refresh_from_db()
    assert (root_admin.is_active, root_admin.role) == (True, Role.SYSTEM_ADMIN)


def test_person_link_shows_masked_data_only(world, town_admin):
    client = _client(town_admin)
    _create(client, world)
    response = client.post(reverse("accounts:person", args=["li.ming"]), {"id_number": world.person_a.id_number})
    assert response.status_code == 302
    assert Person.objects.get(pk=world.person_a.pk).account.username == "li.ming"
    page = client.get(reverse("accounts:detail", args=["li.ming"])).content.decode()
    assert mask_id_number(world.person_a.id_number) in page
    assert world.person_a.id_number not in page
    assert world.person_a.name not in page  # the name is masked too (张**)
    assert client.post(reverse("accounts:person", args=["li.ming"]), {"unlink": "1"}).status_code == 302
    assert not Person.objects.filter(account__username="li.ming").exists()


def test_a_link_to_nobody_is_explained_on_the_page_and_audited_masked(world, town_admin):
    client = _client(town_admin)
    _create(client, world)
    missing = factories.make_id_number()
    response = client.post(reverse("accounts:person", args=["li.ming"]), {"id_number": missing})
    assert response.status_code == 400
    assert "在您的数据范围内没有该身份证号的人员" in response.content.decode()
    event = AuditEvent.objects.get(success=False)
    assert (event.actor, event.object_id, event.ip) == (town_admin, str(User.objects.get(username="li.ming").pk), "127.0.0.1")
    assert event.after == {"person_id_number": mask_id_number(missing), "person_found": False}
    assert missing not in str(AuditEvent.objects.filter(pk=event.pk).values().get())


@pytest.mark.parametrize("url_name", ["accounts:create", "accounts:person"])
def test_the_id_number_typed_is_hidden_from_error_reports(world, town_admin, url_name):
    # R20: an error report of these pages (Django's SafeExceptionReporterFilter) never shows the ID number.
    factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="li.ming")
    args = ["li.ming"] if url_name == "accounts:person" else []
    request = RequestFactory().post(reverse(url_name, args=args), {"id_number": world.person_b.id_number})
    request._dont_enforce_csrf_checks = True
    request.session = SessionStore()
    request.user = town_admin
    request._messages = FallbackStorage(request)
    match = resolve(request.path)
    match.func(request, *match.args, **match.kwargs)
    assert request.sensitive_post_parameters == ("id_number",)
    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleansed["id_number"] == "********************"


def test_list_filters_and_pages(world, town_admin):
    for number in range(55):
        factories.user_with_scope(Role.OFFICER, world.village_a, username=f"officer{number:02d}")
    client = _client(town_admin)
    first = client.get(reverse("accounts:list"))
    assert first.status_code == 200
    assert first.context["page_obj"].paginator.count == 56
    assert "officer00" in first.content.decode()
    second = client.get(reverse("accounts:list"), {"page": 2})
    assert "officer54" in second.content.decode()
    filtered = client.get(reverse("accounts:list"), {"role": Role.SYSTEM_ADMIN})
    assert filtered.context["page_obj"].paginator.count == 1
    assert client.get(reverse("accounts:list"), {"status": "nonsense"}).status_code == 200


def test_list_query_count_does_not_grow_with_the_page(world, town_admin, django_assert_max_num_queries):
    for number in range(30):
        factories.user_with_scope(Role.OFFICER, world.village_a, username=f"officer{number:02d}")
    client = _client(town_admin)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("accounts:list")).status_code == 200


def test_navigation_entry_only_for_account_managers(world, town_admin):
    url = reverse("accounts:list")
    assert f'href="{url}"' in _client(town_admin).get(reverse("web:home")).content.decode()
    for role in Role:
        if role == Role.SYSTEM_ADMIN:
            continue
        user = factories.user_with_scope(role, world.town_a, username=f"nav_{role.value}")
        assert f'href="{url}"' not in _client(user).get(reverse("web:home")).content.decode(), role


def test_an_empty_form_is_answered_with_the_missing_fields(world, town_admin):
    client = _client(town_admin)
    response = client.post(reverse("accounts:create"), {})
    assert response.status_code == 400
    assert response.content.decode().count("这个字段是必填项。") == 3  # username, display name, role
    edit = client.post(reverse("accounts:edit", args=["town_admin"]), {})
    assert edit.status_code == 400
    assert "这个字段是必填项。" in edit.content.decode()
