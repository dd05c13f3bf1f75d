"""Writes on the person registry. Identity facts come from the ID number (GB 11643-1999)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.roles import Action
from civicgrid.core import audit, idnumber
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction
from civicgrid.people.models import Person
from civicgrid.people.policies import person_policy
from civicgrid.territory.models import Node
from civicgrid.territory.policies import node_policy

# Soft-deleted residents are purged this many days after deletion (R29; setting CIVICGRID_PEOPLE_RETENTION_DAYS).
DEFAULT_DELETED_RETENTION_DAYS = 180
PHONE_PATTERN = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")
MOBILE_PATTERN = re.compile(r"1[3-9]\d{9}")


def normalise_phone(raw: str) -> str:
    """Strip spaces and dashes of a mobile number; raise ApplicationError if it is no phone number."""
    text = re.sub(r"[\s]", "", str(raw or ""))
    if not text:
        return ""
    if text.startswith("+86"):
        text = text[3:]
    if MOBILE_PATTERN.fullmatch(text.replace("-", "")):
        # The docstring's promise: 139-0000-1111 is a mobile number written with dashes.
        return text.replace("-", "")
    if not PHONE_PATTERN.match(text):
        raise ApplicationError(_("联系电话格式不正确：%(start)s…") % {"start": text[:3]})
    return text


def check_identity(
    raw_id: object, *, sex: str | None = None, birth_date: dt.date | None = None
) -> idnumber.IdNumber:
    """Validate an ID number and check declared sex and birth date against it."""
    try:
        parsed = idnumber.parse(raw_id, today=timezone.localdate())
    except idnumber.InvalidIdNumber as exc:
        raise ApplicationError(str(exc)) from exc
    if sex and sex != parsed.sex:
        raise ApplicationError(_("性别与身份证号不符"))
    if birth_date and birth_date != parsed.birth_date:
        raise ApplicationError(_("出生日期与身份证号不符"))
    return parsed


def _check_node(actor: Any, node: Node) -> None:
    if actor is not None and not node_policy.viewable(actor).filter(pk=node.pk).exists():
        raise ApplicationError(_("所属网格不在您的数据范围内"))


def person_create(
    *, actor: Any, id_number: str, name: str, address_node: Node, phone: str = "", address: str = "",
    sex: str | None = None, birth_date: dt.date | None = None,
) -> Person:
    """Register a resident; sex and birth date are derived from (and checked against) the ID number."""
    if actor is not None and not actor.can(Action.MANAGE_PEOPLE):
        raise ApplicationError(_("无权登记人员"))
    parsed = check_identity(id_number, sex=sex, birth_date=birth_date)
    if not name.strip():
        raise ApplicationError(_("姓名不能为空"))
    _check_node(actor, address_node)
    with transaction.atomic():
        if Person.objects.filter(id_number=parsed.value).exists():
            raise ApplicationError(_("该身份证号已在人员库中"))
        person = Person.objects.create(
            id_number=parsed.value, name=name.strip(), sex=parsed.sex, birth_date=parsed.birth_date,
            phone=normalise_phone(phone), address_node=address_node, scope_path=address_node.path,
            address=address.strip(),
        )
        audit.record(actor=actor, action=AuditAction.CREATE, instance=person, after=audit.snapshot(person))
    return person


def person_update(
    *, actor: Any, person: Person, name: str | None = None, phone: str | None = None,
    address: str | None = None, address_node: Node | None = None,
) -> Person:
    """Change a resident's contact and address facts (the ID number itself never changes)."""
    if actor is not None:
        person = person_policy.get_changeable(actor, person.pk)
    if address_node is not None:
        _check_node(actor, address_node)
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        before = audit.snapshot(person)
        if name is not None:
            if not name.strip():
                raise ApplicationError(_("姓名不能为空"))
            person.name = name.strip()
        if phone is not None:
            person.phone = normalise_phone(phone)
        if address is not None:
            person.address = address.strip()
        if address_node is not None:
            person.address_node = address_node
            person.scope_path = address_node.path
        person.save()
        old, new = audit.changed(before, audit.snapshot(person))
        if new:
            audit.record(actor=actor, action=AuditAction.UPDATE, instance=person, before=old, after=new)
    return person


def person_delete(*, actor: Any, person: Person, reason: str) -> Person:
    """Soft-delete with a reason (R29); the row is hidden from lists and purged after retention."""
    if not reason.strip():
        raise ApplicationError(_("删除须填写原因"))
    if actor is not None:
        person = person_policy.get_changeable(actor, person.pk)
    with transaction.atomic():
        Person.objects.filter(pk=person.pk).update(deleted_at=timezone.now(), deleted_reason=reason.strip()[:200])
        person.refresh_from_db()
        audit.record(actor=actor, action=AuditAction.DELETE, instance=person, reason=reason.strip())
    return person


def person_unmask(*, actor: Any, person: Person, reason: str) -> dict[str, str]:
    """Full ID number and phone for an actor whose role allows it, with a reason; always logged (R14).
    Minors' data needs the extra VIEW_MINOR permission (R27)."""
    if not actor.can(Action.UNMASK) or (person.is_minor and not actor.can(Action.VIEW_MINOR)):
        audit.record(
            actor=actor, action=AuditAction.VIEW_SENSITIVE, instance=person, success=False, reason=reason[:200]
        )
        raise PermissionError("no permission to view full personal information")
    if not reason.strip():
        raise ApplicationError(_("查看完整信息须填写事由"))
    # A soft-deleted person is gone for every reader: the same 404 as out of scope.
    person = person_policy.get_viewable(actor, person.pk, Person.objects.filter(deleted_at__isnull=True))
    audit.record(actor=actor, action=AuditAction.VIEW_SENSITIVE, instance=person, reason=reason.strip())
    return {"id_number": person.id_number, "phone": person.phone}


def deleted_retention_days() -> int:
    """Days a soft-deleted resident is kept before the purge (at least one)."""
    return max(1, int(getattr(settings, "CIVICGRID_PEOPLE_RETENTION_DAYS", DEFAULT_DELETED_RETENTION_DAYS)))


@dataclass(frozen=True)
class PeoplePurgeSummary:
    purged: int
    kept_referenced: int  # past retention but still referenced (cases, assignments keep their person)


def people_purge_deleted(*, now: dt.datetime | None = None) -> PeoplePurgeSummary:
    """Delete residents soft-deleted longer ago than the retention period, with their row history (which
    repeats the personal data); never a younger or an undeleted row (R29). A resident still referenced by
    a protected record (a case, an assignment) is kept and counted; the purge retries them next time."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=deleted_retention_days())
    candidates = list(
        Person.objects.filter(deleted_at__isnull=False, deleted_at__lt=cutoff).order_by("pk").values_list("pk", flat=True)
    )
    purged_ids: list[int] = []
    kept = 0
    for pk in candidates:
        try:
            with transaction.atomic():
                # Re-checked under lock: the row may have been restored or purged meanwhile.
                person = Person.objects.select_for_update().filter(
                    pk=pk, deleted_at__isnull=False, deleted_at__lt=cutoff
                ).first()
                if person is None:
                    continue
                person.delete()
                # The history rows (including the one simple-history writes for this delete) hold the PI too.
                Person.history.filter(id=pk).delete()
        except (ProtectedError, RestrictedError):
            kept += 1
            continue
        purged_ids.append(pk)
    if purged_ids:
        audit.record(
            actor=None, action=AuditAction.DELETE, object_type="people.person",
            object_repr=f"purged {len(purged_ids)}", after={"purged_ids": purged_ids},
            reason=f"retention {deleted_retention_days()} days (R29)",
        )
    return PeoplePurgeSummary(purged=len(purged_ids), kept_referenced=kept)
