"""Account administration services: each rule of accounts.administration (scope, 三员, self, temporary
password, lockout, person link) and what they leave in the audit trail."""

from __future__ import annotations

import json
import logging

import pytest
from axes.models import AccessAttempt
from django.utils import translation

from civicgrid.accounts.administration import services
from civicgrid.accounts.administration.policies import has_root_grant, manageable_accounts
from civicgrid.accounts.administration.selectors import account_list, locked_usernames
from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Role
from civicgrid.core.errors import ApplicationError
from civicgrid.core.masking import mask_id_number
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.people.models import Person
from civicgrid.territory.models import Grant
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def root_admin(world):
    """System administrator with a grant on the district, the root of the test tree."""
    return factories.user_with_scope(Role.SYSTEM_ADMIN, world.district, username="root_admin")


@pytest.fixture
def town_admin(world):
    """System administrator of town A only."""
    return factories.user_with_scope(Role.SYSTEM_ADMIN, world.town_a, username="town_admin")


def _create(actor, world, **overrides):
    values = {
        "username": "li.ming", "display_name": "李明", "role": Role.VILLAGE_CADRE, "nodes": [world.village_a],
    }
    values.update(overrides)
    return services.account_create(actor=actor, **values)


def _audit_text() -> str:
    rows = AuditEvent.objects.values("object_repr", "before", "after", "reason")
    return json.dumps(list(rows), ensure_ascii=False)


# --- create -------------------------------------------------------------------------------------------


def test_create_sets_a_temporary_password_the_user_must_change(world, town_admin):
    issued = _create(town_admin, world)
    account = User.objects.get(username="li.ming")
    assert issued.account == account
    assert (account.display_name, account.role, account.is_active, account.must_change_password) == (
        "李明", Role.VILLAGE_CADRE, True, True
    )
    assert account.password != issued.temporary_password  # hashed, never in clear
    assert account.check_password(issued.temporary_password)
    assert list(Grant.objects.filter(user=account).values_list("node", flat=True)) == [world.village_a.pk]
    assert issued.temporary_password not in repr(issued)


def test_temporary_passwords_pass_the_password_rules_and_differ():
    from django.contrib.auth.password_validation import validate_password

    passwords = {services.generate_temporary_password() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        validate_password(password)  # raises if any rule (R1) fails
        assert len(password) == services.TEMPORARY_PASSWORD_LENGTH


def test_create_is_audited_without_the_password(world, town_admin, caplog):
    caplog.set_level(logging.DEBUG)
    issued = _create(town_admin, world)
    created = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="accounts.user")
    assert created.actor == town_admin
    assert created.after == {
        "username": "li.ming", "display_name": "李明", "role": "village_cadre", "department": "",
        "is_active": True, "must_change_password": True,
    }
    grant = AuditEvent.objects.get(action=AuditAction.PERMISSION_CHANGE)
    assert grant.after == {"user": "li.ming", "node": world.village_a.code}
    assert issued.temporary_password not in _audit_text()
    assert issued.temporary_password not in caplog.text
    assert issued.account.password not in _audit_text()


def test_duplicate_username_is_refused_with_the_existing_message(world, town_admin):
    _create(town_admin, world)
    for name in ("li.ming", "Li.Ming", " li.ming "):
        with pytest.raises(ApplicationError) as refused:
            _create(town_admin, world, username=name)
        assert refused.value.message == "该账号已存在。"
        assert refused.value.extra == {"field": "username"}


@pytest.mark.parametrize("name", ["admin", "Root", "system", "guest"])
def test_reserved_names_are_refused(world, town_admin, name):
    with pytest.raises(ApplicationError, match="系统保留名"):
        _create(town_admin, world, username=name)
    assert not User.objects.filter(username__iexact=name).exists()


def test_invalid_username_characters_are_refused(world, town_admin):
    with pytest.raises(ApplicationError) as refused:
        _create(town_admin, world, username="li ming/1")
    assert refused.value.extra == {"field": "username"}


def test_node_outside_the_scope_is_refused_and_nothing_is_created(world, town_admin):
    events = AuditEvent.objects.count()
    with pytest.raises(ApplicationError, match="不在您的数据范围内"):
        _create(town_admin, world, nodes=[world.village_a, world.village_b])
    assert not User.objects.filter(username="li.ming").exists()
    assert AuditEvent.objects.count() == events


def test_inactive_node_cannot_be_granted(world, town_admin):
    world.village_a.is_active = False
    world.village_a.save(update_fields=["is_active"])
    with pytest.raises(ApplicationError, match="不在您的数据范围内"):
        _create(town_admin, world)


def test_a_grant_is_required_except_for_the_auditor(world, root_admin):
    with pytest.raises(ApplicationError, match="至少授权一个数据范围"):
        _create(root_admin, world, nodes=[])
    issued = _create(root_admin, world, username="shen.jie", role=Role.AUDITOR, nodes=[])
    assert issued.account.role == Role.AUDITOR
    assert not Grant.objects.filter(user=issued.account).exists()


def test_department_clerk_needs_a_department(world, town_admin):
    with pytest.raises(ApplicationError, match="所属部门"):
        _create(town_admin, world, role=Role.DEPARTMENT_CLERK)
    issued = _create(town_admin, world, role=Role.DEPARTMENT_CLERK, department="莘县残疾人联合会")
    assert issued.account.department == "莘县残疾人联合会"


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMIN, Role.AUDITOR])
def test_only_a_root_grant_may_create_system_admins_and_auditors(world, town_admin, root_admin, role):
    with pytest.raises(ApplicationError, match="根节点"):
        _create(town_admin, world, username="x.one", role=role)
    assert _create(root_admin, world, username="x.two", role=role).account.role == role
    assert has_root_grant(root_admin)
    assert not has_root_grant(town_admin)


def test_refusals_are_in_the_active_language(world, town_admin):
    with translation.override("en"):
        with pytest.raises(ApplicationError) as outside:
            _create(town_admin, world, nodes=[world.village_b])
        with pytest.raises(ApplicationError) as clerk:
            _create(town_admin, world, role=Role.DEPARTMENT_CLERK)
        with pytest.raises(ApplicationError) as own:
            services.account_deactivate(actor=town_admin, account=town_admin)
    assert outside.value.message == (
        f"Grid node {world.village_b.code} is outside your data scope and cannot be granted"
    )
    assert clerk.value.message == "A department clerk needs a department"
    assert own.value.message == "You cannot deactivate or reactivate your own account"
    with pytest.raises(ApplicationError) as own:
        services.account_deactivate(actor=town_admin, account=town_admin)
    assert own.value.message == "不能停用或启用自己的账号"


@pytest.mark.parametrize("role", [r for r in Role if r != Role.SYSTEM_ADMIN])
def test_only_system_admins_manage_accounts(world, role):
    actor = factories.user_with_scope(role, world.district, username="not_an_admin")
    with pytest.raises(ApplicationError, match="无权管理账号"):
        _create(actor, world)


# --- scope of accounts -----------------------------------------------------------------------------------


def test_an_admin_sees_only_accounts_whose_grants_are_all_inside_its_scope(world, town_admin, root_admin):
    in_a = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="in_a")
    in_b = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_b, username="in_b")
    both = factories.user_with_scope(Role.TOWN_OFFICER, world.town_a, world.town_b, username="both")
    district = factories.user_with_scope(Role.COUNTY_ADMIN, world.district, username="district")
    ungranted = factories.UserFactory(username="ungranted", role=Role.AUDITOR)
    seen_by_town = set(manageable_accounts(town_admin).values_list("username", flat=True))
    assert seen_by_town == {"in_a", "town_admin"}
    seen_by_root = set(manageable_accounts(root_admin).values_list("username", flat=True))
    assert {"in_a", "in_b", "both", "district", "ungranted", "root_admin", "town_admin"} <= seen_by_root
    for account in (in_b, both, district, ungranted, root_admin):
        with pytest.raises(ApplicationError, match="不在您的管理范围内|根节点"):
            services.account_deactivate(actor=town_admin, account=account)
    assert User.objects.filter(is_active=False).count() == 0
    assert in_a.is_active


def test_accounts_without_the_action_or_without_grants_see_no_accounts(world):
    factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="in_a")
    no_grant = factories.UserFactory(role=Role.SYSTEM_ADMIN, username="no_grant_admin")
    county = factories.user_with_scope(Role.COUNTY_ADMIN, world.district, username="county")
    assert list(manageable_accounts(no_grant)) == []
    assert list(manageable_accounts(county)) == []
    assert list(manageable_accounts(None)) == []


def test_list_filters(world, town_admin):
    active = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="wang.fang")
    inactive = factories.user_with_scope(Role.OFFICER, world.village_a, username="zhao.lei")
    User.objects.filter(pk=inactive.pk).update(is_active=False, display_name="赵磊")
    AccessAttempt.objects.create(username="wang.fang", ip_address="10.0.0.1", user_agent="", failures_since_start=5,
                                 get_data="", post_data="", http_accept="", path_info="/accounts/login/")

    def names(**filters):
        return [account.username for account in account_list(actor=town_admin, **filters)]

    assert names() == ["town_admin", "wang.fang", "zhao.lei"]
    assert names(role=Role.OFFICER) == ["zhao.lei"]
    assert names(status="inactive") == ["zhao.lei"]
    assert names(status="active") == ["town_admin", "wang.fang"]
    assert names(status="locked") == ["wang.fang"]
    assert names(search="赵磊") == ["zhao.lei"]
    assert names(search="WANG") == ["wang.fang"]
    assert locked_usernames(["wang.fang", "zhao.lei"]) == {"wang.fang"}
    assert active.is_active


# --- edit, grants, state ----------------------------------------------------------------------------------


def test_update_is_audited_as_a_permission_change_when_the_role_changes(world, town_admin):
    account = _create(town_admin, world).account
    services.account_update(actor=town_admin, account=account, display_name="李明明", role=Role.VILLAGE_CADRE)
    services.account_update(actor=town_admin, account=account, display_name="李明明", role=Role.TOWN_OFFICER,
                            department="顾官屯镇扶贫办")
    updated = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(account.pk)).order_by("pk")
    assert [(e.action, e.before, e.after) for e in updated][1:] == [
        (AuditAction.UPDATE, {"display_name": "李明"}, {"display_name": "李明明"}),
        (AuditAction.PERMISSION_CHANGE, {"role": "village_cadre", "department": ""},
         {"role": "town_officer", "department": "顾官屯镇扶贫办"}),
    ]


def test_nobody_changes_their_own_role_or_deactivates_themselves(world, root_admin):
    with pytest.raises(ApplicationError, match="自己的角色"):
        services.account_update(actor=root_admin, account=root_admin, display_name="x", role=Role.COUNTY_ADMIN)
    with pytest.raises(ApplicationError, match="自己的账号"):
        services.account_deactivate(actor=root_admin, account=root_admin)
    with pytest.raises(ApplicationError, match="自己的数据范围"):
        services.account_grant_remove(actor=root_admin, account=root_admin, node=world.district)
    # The display name of one's own account may change.
    services.account_update(actor=root_admin, account=root_admin, display_name="孙宏伟", role=Role.SYSTEM_ADMIN)
    root_admin.refresh_from_db()
    assert (root_admin.role, root_admin.is_active, root_admin.display_name) == (Role.SYSTEM_ADMIN, True, "孙宏伟")


def test_a_town_admin_cannot_promote_to_or_touch_privileged_accounts(world, town_admin, root_admin):
    colleague = factories.user_with_scope(Role.SYSTEM_ADMIN, world.town_a, username="colleague")
    cadre = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="cadre")
    with pytest.raises(ApplicationError, match="根节点"):
        services.account_update(actor=town_admin, account=cadre, display_name="x", role=Role.AUDITOR)
    with pytest.raises(ApplicationError, match="根节点"):
        services.account_reset_password(actor=town_admin, account=colleague)
    # With the root grant it is allowed.
    services.account_reset_password(actor=root_admin, account=colleague)


def test_grants_are_added_and_removed_inside_the_scope_only(world, town_admin):
    account = _create(town_admin, world).account
    with pytest.raises(ApplicationError, match="不在您的数据范围内"):
        services.account_grant_add(actor=town_admin, account=account, node=world.town_b)
    services.account_grant_add(actor=town_admin, account=account, node=world.town_a)
    services.account_grant_remove(actor=town_admin, account=account, node=world.village_a)
    assert list(Grant.objects.filter(user=account).values_list("node__code", flat=True)) == [world.town_a.code]
    changes = AuditEvent.objects.filter(action=AuditAction.PERMISSION_CHANGE).order_by("pk")
    assert [(e.before, e.after) for e in changes][1:] == [
        (None, {"user": "li.ming", "node": world.town_a.code}),
        ({"user": "li.ming", "node": world.village_a.code}, None),
    ]
    with pytest.raises(ApplicationError, match="没有这个数据范围"):
        services.account_grant_remove(actor=town_admin, account=account, node=world.village_a)


def test_deactivate_and_reactivate_never_delete(world, town_admin):
    account = _create(town_admin, world).account
    services.account_deactivate(actor=town_admin, account=account)
    account.refresh_from_db()
    assert not account.is_active
    assert User.objects.filter(pk=account.pk).exists()
    services.account_reactivate(actor=town_admin, account=account)
    account.refresh_from_db()
    assert account.is_active
    rows = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(account.pk)).order_by("pk")
    assert [(e.before, e.after) for e in rows] == [({"is_active": True}, {"is_active": False}),
                                                   ({"is_active": False}, {"is_active": True})]


def test_reset_password_issues_a_new_temporary_one(world, town_admin, caplog):
    caplog.set_level(logging.DEBUG)
    account = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="cadre")
    issued = services.account_reset_password(actor=town_admin, account=account)
    account.refresh_from_db()
    assert account.must_change_password
    assert not account.check_password(factories.PASSWORD)
    assert account.check_password(issued.temporary_password)
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(account.pk))
    assert event.after == {"password": "reset", "must_change_password": True}
    assert issued.temporary_password not in _audit_text()
    assert issued.temporary_password not in caplog.text
    with pytest.raises(ApplicationError, match="修改密码"):
        services.account_reset_password(actor=town_admin, account=town_admin)


def test_unlock_uses_axes_reset_and_is_audited(world, town_admin):
    account = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="cadre")
    for ip in ("10.0.0.1", "10.0.0.2"):
        AccessAttempt.objects.create(username="cadre", ip_address=ip, user_agent="", failures_since_start=5,
                                     get_data="", post_data="", http_accept="", path_info="/accounts/login/")
    assert locked_usernames(["cadre"]) == {"cadre"}
    assert services.account_unlock(actor=town_admin, account=account) == 2
    assert locked_usernames(["cadre"]) == set()
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(account.pk))
    assert event.after == {"unlocked": True, "attempts_removed": 2}


# --- person link ------------------------------------------------------------------------------------------


def test_link_by_exact_id_number_inside_the_scope(world, town_admin):
    issued = _create(town_admin, world, person_id_number=world.person_a.id_number.lower())
    person = Person.objects.get(pk=world.person_a.pk)
    assert person.account == issued.account
    link = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="accounts.user")
    assert link.after == {"person_id": person.pk}
    assert person.id_number not in _audit_text()


def test_a_person_outside_the_scope_looks_missing(world, town_admin):
    account = _create(town_admin, world).account
    for number in (world.person_b.id_number, factories.make_id_number()):
        with pytest.raises(ApplicationError) as refused:
            services.account_link_person(actor=town_admin, account=account, id_number=number)
        assert refused.value.message.startswith("在您的数据范围内没有该身份证号的人员")
    with pytest.raises(ApplicationError, match="身份证号无效"):
        services.account_link_person(actor=town_admin, account=account, id_number="3715")
    assert not Person.objects.filter(account=account).exists()


def _row_text(event: AuditEvent) -> str:
    """Every stored field of an audit row, as one string."""
    values = AuditEvent.objects.filter(pk=event.pk).values().get()
    return json.dumps(values, ensure_ascii=False, default=str)


def test_a_link_lookup_that_finds_nobody_is_audited_as_a_failed_attempt_masked(world, town_admin, caplog):
    account = _create(town_admin, world).account
    missing = factories.make_id_number()
    caplog.set_level(logging.DEBUG)
    for number in (missing, world.person_b.id_number):  # nobody, and somebody outside the scope: the same
        with pytest.raises(ApplicationError, match="在您的数据范围内没有该身份证号的人员"):
            services.account_link_person(actor=town_admin, account=account, id_number=number)
    events = list(AuditEvent.objects.filter(success=False).order_by("id"))
    assert [(e.actor, e.action, e.object_type, e.object_id, e.after) for e in events] == [
        (town_admin, AuditAction.UPDATE, "accounts.user", str(account.pk),
         {"person_id_number": mask_id_number(missing), "person_found": False}),
        (town_admin, AuditAction.UPDATE, "accounts.user", str(account.pk),
         {"person_id_number": mask_id_number(world.person_b.id_number), "person_found": False}),
    ]
    for event, number in zip(events, (missing, world.person_b.id_number), strict=True):
        assert number not in _row_text(event)
        assert number[6:14] not in _row_text(event)  # not even the birth date
    assert missing not in caplog.text
    assert world.person_b.id_number not in caplog.text
    assert not Person.objects.filter(account=account).exists()


def test_a_create_lookup_that_finds_nobody_is_audited_and_creates_nothing(world, town_admin):
    missing = factories.make_id_number()
    with pytest.raises(ApplicationError, match="在您的数据范围内没有该身份证号的人员"):
        _create(town_admin, world, username="wang.wu", person_id_number=missing)
    assert not User.objects.filter(username="wang.wu").exists()
    event = AuditEvent.objects.get(success=False)
    assert (event.actor, event.action, event.success, event.object_type, event.object_id, event.object_repr) == (
        town_admin, AuditAction.CREATE, False, "accounts.user", "", "wang.wu"
    )
    assert event.after == {"person_id_number": mask_id_number(missing), "person_found": False}
    assert missing not in _row_text(event)


def test_an_invalid_id_number_or_a_person_linked_elsewhere_is_refused_without_a_lookup_row(world, town_admin):
    # Only a lookup that finds nobody is the failed attempt recorded here; these fail before or after it.
    first = _create(town_admin, world, person_id_number=world.person_a.id_number).account
    second = _create(town_admin, world, username="second").account
    before = AuditEvent.objects.count()
    with pytest.raises(ApplicationError, match="身份证号无效"):
        services.account_link_person(actor=town_admin, account=second, id_number="3715")
    with pytest.raises(ApplicationError, match="已关联其他账号"):
        services.account_link_person(actor=town_admin, account=second, id_number=world.person_a.id_number)
    assert AuditEvent.objects.count() == before
    assert Person.objects.get(pk=world.person_a.pk).account == first


def test_a_person_links_to_one_account_and_can_be_unlinked(world, town_admin):
    first = _create(town_admin, world, person_id_number=world.person_a.id_number).account
    second = _create(town_admin, world, username="second").account
    with pytest.raises(ApplicationError, match="已关联其他账号"):
        services.account_link_person(actor=town_admin, account=second, id_number=world.person_a.id_number)
    other = factories.person(world.village_a, name="周德明")
    with pytest.raises(ApplicationError, match="请先解除关联"):
        services.account_link_person(actor=town_admin, account=first, id_number=other.id_number)
    services.account_unlink_person(actor=town_admin, account=first)
    assert not Person.objects.filter(account=first).exists()
    services.account_link_person(actor=town_admin, account=second, id_number=world.person_a.id_number)
    assert Person.objects.get(pk=world.person_a.pk).account == second
