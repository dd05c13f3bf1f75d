"""Person registry API. Scoped like the pages; ID numbers and phones are always masked here (the
audited unmask exists only on the page, where a person gives a reason), and minors' names too for
roles without VIEW_MINOR."""

# No `from __future__ import annotations` here: django-ninja resolves handler annotations at import.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_noop
from ninja import Query, Router, Schema

from civicgrid.accounts.roles import Action
from civicgrid.config.api_support import SEARCH_PATTERN, api_requires, page_of
from civicgrid.people.display import person_display
from civicgrid.people.models import Person
from civicgrid.people.selectors import person_get, person_list
from civicgrid.territory.models import ResponsibilityRole
from civicgrid.territory.selectors import assignment_list, node_get

router = Router(tags=["people"])


class NodeRef(Schema):
    id: int
    code: str
    name: str


class PersonOut(Schema):
    id: int
    name: str
    sex: str
    age: int
    is_minor: bool
    id_number: str
    phone: str
    node: NodeRef


class PersonPage(Schema):
    count: int
    items: list[PersonOut]


class PersonAssignmentOut(Schema):
    id: int
    node: NodeRef
    role: ResponsibilityRole
    role_label: str
    is_primary: bool
    valid_from: dt.date
    valid_to: dt.date | None


class PersonDetailOut(PersonOut):
    address: str
    assignments: list[PersonAssignmentOut]


def _person_out(person: Person, actor: Any, today: dt.date) -> dict[str, Any]:
    shown = person_display(person, actor=actor, today=today)
    return {
        "id": shown.pk, "name": shown.name, "sex": shown.sex, "age": shown.age, "is_minor": shown.is_minor,
        "id_number": shown.id_number, "phone": shown.phone,
        "node": {"id": shown.node_id, "code": shown.node_code, "name": shown.node_name},
        "address": shown.address,
    }


@router.get("", response=PersonPage, summary=gettext_noop("人员列表（脱敏）"))
@api_requires(Action.VIEW_PEOPLE)
def list_people(
    request: HttpRequest,
    search: str = Query("", max_length=50, pattern=SEARCH_PATTERN),
    node: int | None = None,
    page: int = Query(1, ge=1),
    page_size: int = Query(50, ge=1, le=200),
) -> Any:
    """People in scope (optionally living under a node) matching a name prefix or a full ID number."""
    under = node_get(actor=request.user, pk=node) if node is not None else None
    count, people = page_of(
        person_list(actor=request.user, node=under, search=search), page=page, page_size=page_size
    )
    today = timezone.localdate()
    return {"count": count, "items": [_person_out(person, request.user, today) for person in people]}


@router.get("/{person_id}", response=PersonDetailOut, summary=gettext_noop("人员详情（脱敏）"))
@api_requires(Action.VIEW_PEOPLE)
def get_person(request: HttpRequest, person_id: int) -> Any:
    """One person in scope, masked, with the responsibility assignments the user may see."""
    person = person_get(actor=request.user, pk=person_id)
    assignments = assignment_list(actor=request.user, person=person).order_by("-valid_from", "-pk")
    return {
        **_person_out(person, request.user, timezone.localdate()),
        "assignments": [
            {
                "id": item.pk, "node": item.node, "role": item.role, "role_label": str(item.get_role_display()),
                "is_primary": item.is_primary, "valid_from": item.valid_from, "valid_to": item.valid_to,
            }
            for item in assignments
        ],
    }
