"""Writes of account administration. Each is keyword-only, atomic, checks the actor against
accounts.administration.policies and writes its audit row (before/after, never a password) in the
same transaction. Grants go through territory.services.grant_add / grant_remove, which audit them as
permission changes. A temporary password is returned to the caller once and never stored in clear,
logged or audited."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from axes.utils import reset as axes_reset
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from civicgrid.accounts.administration.policies import (
    PRIVILEGED_ROLES,
    can_change,
    has_root_grant,
    is_account_manager,
    is_privileged,
)
from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Role
from civicgrid.core import audit, idnumber
from civicgrid.core.errors import ApplicationError
from civicgrid.core.masking import mask_id_number
from civicgrid.core.models import AuditAction
from civicgrid.people.models import Person
from civicgrid.territory.models import Grant, Node
from civicgrid.territory.scoping import path_in_scope, scope_q
from civicgrid.territory.services import grant_add, grant_remove

# The fields an account's audit rows show (the password hash is never one of them).
AUDITED_FIELDS = ["username", "display_name", "role", "department", "is_active", "must_change_password"]
# Letters and digits that cannot be mistaken for one another when read out or copied by hand.
_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_LOWER = "abcdefghijkmnpqrstuvwxyz"
_DIGITS = "23456789"
_SYMBOLS = "!@#$%&*?-+="
TEMPORARY_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class IssuedPassword:
    """An account and the temporary password just set on it: shown once to the administrator."""

    account: User
    temporary_password: str = field(repr=False)


def generate_temporary_password(user: User | None = None) -> str:
    """A random password of every character class that passes AUTH_PASSWORD_VALIDATORS."""
    alphabet = _UPPER + _LOWER + _DIGITS + _SYMBOLS
    while True:
        chars = [secrets.choice(group) for group in (_UPPER, _LOWER, _DIGITS, _SYMBOLS)]
        chars += [secrets.choice(alphabet) for _ in range(TEMPORARY_PASSWORD_LENGTH - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        candidate = "".join(chars)
        try:
            password_validation.validate_password(candidate, user)
        except ValidationError:  # pragma: no cover - vanishingly rare (e.g. similar to the username)
            continue
        return candidate


def _require_manager(actor: Any) -> None:
    if not is_account_manager(actor):
        raise ApplicationError(_("无权管理账号"))


def _require_changeable(actor: Any, account: User) -> None:
    _require_manager(actor)
    if not can_change(actor, account):
        if is_privileged(account):
            raise ApplicationError(_("系统管理员、审计员账号只能由拥有全域（根节点）数据范围的系统管理员管理"))
        raise ApplicationError(_("该账号不在您的管理范围内"))


def _check_role(actor: Any, role: str) -> None:
    if role not in Role.values:
        raise ApplicationError(_("未知的角色：%(role)s") % {"role": role}, extra={"field": "role"})
    if role in PRIVILEGED_ROLES and not has_root_grant(actor):
        raise ApplicationError(
            _("只有拥有全域（根节点）数据范围的系统管理员才能设置系统管理员或审计员角色"), extra={"field": "role"}
        )


def _check_department(role: str, department: str) -> None:
    if role == Role.DEPARTMENT_CLERK and not department:
        raise ApplicationError(_("部门经办人须填写所属部门"),
                               extra={"field": "department"})


def _check_node(actor: Any, node: Node) -> None:
    if not node.is_active or not path_in_scope(actor, node.path):
        raise ApplicationError(
            _("网格节点 %(code)s 不在您的数据范围内，不能授权") % {"code": node.code}, extra={"field": "nodes"}
        )


def _check_username(username: str) -> str:
    username = username.strip()
    if not username:
        raise ApplicationError(_("账号不能为空"), extra={"field": "username"})
    try:
        User._meta.get_field("username").run_validators(username)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), extra={"field": "username"}) from exc
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError(_("该账号已存在。"), extra={"field": "username"})
    return username


class PersonNotFound(ApplicationError):
    """No person with the ID number inside the actor's scope. Carries the number masked, for the audit
    row of the failed lookup; the number in clear goes no further than the lookup."""

    def __init__(self, *, masked_id_number: str) -> None:
        super().__init__(
            _("在您的数据范围内没有该身份证号的人员"),
            extra={"field": "id_number"},
        )
        self.masked_id_number = masked_id_number


def _find_person(actor: Any, id_number: str, *, account: User | None) -> Person:
    """The person with exactly this ID number inside the actor's scope. Missing and out of scope are
    the same answer, so the lookup reveals nothing about residents elsewhere."""
    try:
        value = idnumber.parse(id_number).value
    except idnumber.InvalidIdNumber as exc:
        raise ApplicationError(_("身份证号无效：%(error)s") % {"error": exc}, extra={"field": "id_number"}) from exc
    inside = scope_q(actor, "scope_path")
    person = (
        Person.objects.filter(inside, id_number=value, deleted_at__isnull=True).first() if inside is not None else None
    )
    if person is None:
        raise PersonNotFound(masked_id_number=mask_id_number(value))
    if person.account_id is not None and (account is None or person.account_id != account.pk):
        raise ApplicationError(_("该人员已关联其他账号"),
                               extra={"field": "id_number"})
    return person


def _record_person_not_found(
    actor: Any, refusal: PersonNotFound, *, action: str, account: User | None = None, username: str = ""
) -> None:
    """Audit a lookup by ID number that found nobody as a failed attempt, the number masked. Called once
    the refused transaction has rolled back, so the row is not rolled back with it."""
    audit.record(
        actor=actor, action=action, success=False, instance=account, object_type="accounts.user",
        object_repr=username, after={"person_id_number": refusal.masked_id_number, "person_found": False},
    )


def _link(actor: Any, account: User, person: Person) -> None:
    if person.account_id == account.pk:
        return
    if Person.objects.filter(account=account).exists():
        raise ApplicationError(_("该账号已关联人员，请先解除关联"),
                               extra={"field": "id_number"})
    person.account = account
    person.save(update_fields=["account"])
    audit.record(
        actor=actor, action=AuditAction.UPDATE, instance=account, after={"person_id": person.pk},
        scope_path=person.scope_path,
    )


def account_create(
    *,
    actor: Any,
    username: str,
    display_name: str,
    role: str,
    department: str = "",
    nodes: Sequence[Node] = (),
    person_id_number: str = "",
) -> IssuedPassword:
    """Open an account with a temporary password the user must change at first sign-in, its data-scope
    grants and, optionally, the link to its person record."""
    _require_manager(actor)
    username = _check_username(username)
    display_name, department = display_name.strip(), department.strip()
    if not display_name:
        raise ApplicationError(_("姓名不能为空"), extra={"field": "display_name"})
    _check_role(actor, role)
    _check_department(role, department)
    if not nodes and role != Role.AUDITOR:
        # The auditor reads the audit trail across all scopes; every other role works inside a scope.
        raise ApplicationError(_("请至少授权一个数据范围"),
                               extra={"field": "nodes"})
    for node in nodes:
        _check_node(actor, node)
    try:
        with transaction.atomic():
            person = _find_person(actor, person_id_number, account=None) if person_id_number.strip() else None
            account = User(
                username=username, display_name=display_name, role=role, department=department,
                must_change_password=True,
            )
            password = generate_temporary_password(account)
            account.set_password(password)
            try:
                with transaction.atomic():
                    account.save()
            except IntegrityError as exc:  # the same name created concurrently
                raise ApplicationError(_("该账号已存在。"), extra={"field": "username"}) from exc
            audit.record(actor=actor, action=AuditAction.CREATE, instance=account,
                         after=audit.snapshot(account, fields=AUDITED_FIELDS))
            for node in nodes:
                grant_add(actor=actor, user=account, node=node)
            if person is not None:
                _link(actor, account, person)
    except PersonNotFound as refusal:
        _record_person_not_found(actor, refusal, action=AuditAction.CREATE, username=username)
        raise
    return IssuedPassword(account=account, temporary_password=password)


def account_update(*, actor: Any, account: User, display_name: str, role: str, department: str = "") -> User:
    """Change an account's display name, role and department; a role change is a permission change."""
    if actor is not None and account.pk == actor.pk and role != account.role:
        raise ApplicationError(_("不能修改自己的角色"), extra={"field": "role"})
    _require_changeable(actor, account)
    display_name, department = display_name.strip(), department.strip()
    if not display_name:
        raise ApplicationError(_("姓名不能为空"), extra={"field": "display_name"})
    if role != account.role:
        _check_role(actor, role)
    _check_department(role, department)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=account.pk)
        before = audit.snapshot(locked, fields=AUDITED_FIELDS)
        locked.display_name, locked.role, locked.department = display_name, role, department
        locked.save(update_fields=["display_name", "role", "department"])
        old, new = audit.changed(before, audit.snapshot(locked, fields=AUDITED_FIELDS))
        if new:
            action = AuditAction.PERMISSION_CHANGE if "role" in new else AuditAction.UPDATE
            audit.record(actor=actor, action=action, instance=locked, before=old, after=new)
    return locked


def account_grant_add(*, actor: Any, account: User, node: Node) -> Grant:
    """Give the account the data scope of a subtree inside the actor's own scope."""
    _require_changeable(actor, account)
    _check_node(actor, node)
    return grant_add(actor=actor, user=account, node=node)


def account_grant_remove(*, actor: Any, account: User, node: Node) -> None:
    """Withdraw one of the account's grants (the actor may not withdraw its own last one)."""
    if actor is not None and account.pk == actor.pk:
        raise ApplicationError(_("不能撤销自己的数据范围"))
    _require_changeable(actor, account)
    grant = Grant.objects.filter(user=account, node=node).select_related("user", "node").first()
    if grant is None:
        raise ApplicationError(_("该账号没有这个数据范围"), extra={"field": "node"})
    grant_remove(actor=actor, grant=grant)


def _set_active(*, actor: Any, account: User, active: bool) -> User:
    if actor is not None and account.pk == actor.pk:
        raise ApplicationError(_("不能停用或启用自己的账号"))
    _require_changeable(actor, account)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=account.pk)
        if locked.is_active == active:
            return locked
        locked.is_active = active
        locked.save(update_fields=["is_active"])
        audit.record(actor=actor, action=AuditAction.UPDATE, instance=locked,
                     before={"is_active": not active}, after={"is_active": active})
    return locked


def account_deactivate(*, actor: Any, account: User) -> User:
    """Stop an account from signing in (accounts are never deleted: the audit trail points at them);
    its open sessions end at their next request, as Django refuses inactive users."""
    return _set_active(actor=actor, account=account, active=False)


def account_reactivate(*, actor: Any, account: User) -> User:
    """Let a deactivated account sign in again."""
    return _set_active(actor=actor, account=account, active=True)


def account_reset_password(*, actor: Any, account: User) -> IssuedPassword:
    """Replace the password by a new temporary one the user must change at next sign-in; the old
    password's sessions end (Django ties sessions to the password hash)."""
    if actor is not None and account.pk == actor.pk:
        raise ApplicationError(_("请通过“修改密码”更改自己的密码"))
    _require_changeable(actor, account)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=account.pk)
        password = generate_temporary_password(locked)
        locked.set_password(password)
        locked.must_change_password = True
        locked.save(update_fields=["password", "must_change_password"])
        audit.record(actor=actor, action=AuditAction.UPDATE, instance=locked,
                     after={"password": "reset", "must_change_password": True})
    return IssuedPassword(account=locked, temporary_password=password)


def account_unlock(*, actor: Any, account: User) -> int:
    """Lift a sign-in lockout (django-axes' own reset, every address); returns the records removed."""
    _require_changeable(actor, account)
    with transaction.atomic():
        removed = axes_reset(username=account.username)
        audit.record(actor=actor, action=AuditAction.UPDATE, instance=account,
                     after={"unlocked": True, "attempts_removed": removed})
    return removed


def account_link_person(*, actor: Any, account: User, id_number: str) -> Person:
    """Link a staff account to its person record, found by the exact ID number inside the actor's scope."""
    _require_changeable(actor, account)
    if not id_number.strip():
        raise ApplicationError(_("请输入身份证号"), extra={"field": "id_number"})
    try:
        with transaction.atomic():
            person = _find_person(actor, id_number, account=account)
            _link(actor, account, person)
    except PersonNotFound as refusal:
        _record_person_not_found(actor, refusal, action=AuditAction.UPDATE, account=account)
        raise
    return person


def account_unlink_person(*, actor: Any, account: User) -> None:
    """Remove the link between an account and its person record (inside the actor's scope)."""
    _require_changeable(actor, account)
    inside = scope_q(actor, "scope_path")
    with transaction.atomic():
        person = Person.objects.filter(inside, account=account).first() if inside is not None else None
        if person is None:
            raise ApplicationError(_("该账号未关联您数据范围内的人员"))
        person.account = None
        person.save(update_fields=["account"])
        audit.record(actor=actor, action=AuditAction.UPDATE, instance=account, before={"person_id": person.pk},
                     after={"person_id": None}, scope_path=person.scope_path)
