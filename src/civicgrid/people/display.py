"""How a person is shown in lists, pages, the API and exports: identity number and phone always masked
(GB/T 35273 §7.2, R13); a minor's name masked too unless the reader's role may see minors' data
(PIPL Art. 28/31, R27). Full values are only ever shown through `person_unmask`, which is audited."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.roles import Action
from civicgrid.core import audit, exports
from civicgrid.core.masking import mask_id_number, mask_name, mask_phone
from civicgrid.core.models import AuditAction
from civicgrid.people.models import MINOR_AGE, Person
from civicgrid.people.selectors import person_list
from civicgrid.territory.models import Node


@dataclass(frozen=True)
class PersonDisplay:
    """A person as a reader without the unmask permission sees them."""

    pk: int
    name: str
    sex: str
    age: int
    is_minor: bool
    id_number: str
    phone: str
    node_id: int
    node_code: str
    node_name: str
    address: str


def person_display(person: Person, *, actor: Any, today: dt.date | None = None) -> PersonDisplay:
    """The masked view of a person (needs `address_node` loaded, as `person_list` does)."""
    age = person.age_on(today or timezone.localdate())
    is_minor = age < MINOR_AGE
    hide_minor = is_minor and not actor.can(Action.VIEW_MINOR)
    return PersonDisplay(
        pk=person.pk,
        name=mask_name(person.name) if hide_minor else person.name,
        sex=person.get_sex_display(),
        age=age,
        is_minor=is_minor,
        id_number=mask_id_number(person.id_number),
        phone=mask_phone(person.phone),
        node_id=person.address_node_id,
        node_code=person.address_node.code,
        node_name=person.address_node.name,
        address="" if hide_minor else person.address,
    )


def person_option_label(person: Person, *, actor: Any) -> str:
    """`张秀英 · 371502********1234 · 枣寨村`: enough to pick the right person, masked."""
    shown = person_display(person, actor=actor)
    return f"{shown.name} · {shown.id_number} · {shown.node_name}"


def _search_for_audit(search: str) -> str:
    # A search by full ID number must not put the number into the audit trail in clear.
    return mask_id_number(search) if any(char.isdigit() for char in search) else search


def person_export(*, actor: Any, search: str = "", node: Node | None = None) -> bytes:
    """The people in the actor's scope matching the filters as .xlsx, masked; writes an EXPORT audit row."""
    today = timezone.localdate()
    people = person_list(actor=actor, search=search, node=node)
    headers = [_("姓名"), _("性别"), _("年龄"), _("未满14周岁"), _("身份证号"), _("联系电话"), _("所属网格"), _("网格编码"), _("详细地址")]
    count = 0

    def rows() -> Any:
        nonlocal count
        for person in people.iterator(chunk_size=2000):
            shown = person_display(person, actor=actor, today=today)
            count += 1
            yield [
                shown.name, shown.sex, shown.age, shown.is_minor, shown.id_number, shown.phone,
                shown.node_name, shown.node_code, shown.address,
            ]

    content = exports.workbook_bytes([(_("人员库"), headers, rows())])
    audit.record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type="people.person",
        object_repr=f"人员库导出 {count} 人",
        scope_path=node.path if node is not None else "",
        after={"rows": count, "search": _search_for_audit(search), "node": node.code if node is not None else None, "masked": True},
    )
    return content
