"""factory_boy factories shared by every app's tests (valid ID numbers, territory, accounts)."""

from __future__ import annotations

import datetime as dt
import itertools

import factory

from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Role
from civicgrid.core import idnumber
from civicgrid.people.models import Person
from civicgrid.territory.models import Grant, Node

_sequence = itertools.count(1)
PASSWORD = "Civic-grid-2026"  # noqa: S105 - test accounts only


def make_id_number(birth_date: dt.date = dt.date(1980, 5, 17), region: str = "371502", sex: str = "M") -> str:
    """A valid, unique ID number; the sequence digit's parity gives the sex."""
    n = next(_sequence) % 500
    sequence = n * 2 + (1 if sex == "M" else 0)
    return idnumber.make(region, birth_date, sequence % 1000)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.COUNTY_ADMIN
    display_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)


def square(lon: float, lat: float, size: float) -> dict:
    """A GeoJSON square with its south-west corner at (lon, lat), for maps and point-in-area tests."""
    return {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]],
    }


def node(parent: Node | None, kind: str, name: str, code: str | None = None, geometry: dict | None = None) -> Node:
    """Create a node through the service so path and depth are right."""
    from civicgrid.territory.services import node_create

    return node_create(
        actor=None, parent=parent, kind=kind, code=code or f"N{next(_sequence):06d}", name=name, geometry=geometry
    )


def person(address_node: Node, name: str = "王建国", **kwargs: object) -> Person:
    """Register a person through the service (valid ID, derived sex and birth date)."""
    from civicgrid.people.services import person_create

    id_number = kwargs.pop("id_number", None) or make_id_number(
        kwargs.pop("birth_date", dt.date(1980, 5, 17)), sex=str(kwargs.pop("sex", "M"))  # type: ignore[arg-type]
    )
    return person_create(actor=None, id_number=str(id_number), name=name, address_node=address_node, **kwargs)  # type: ignore[arg-type]


def user_with_scope(role: str, *nodes: Node, username: str | None = None) -> User:
    """An account of a role with data-scope grants on the given nodes."""
    user: User = UserFactory(role=role, **({"username": username} if username else {}))  # type: ignore[assignment]
    for granted in nodes:
        Grant.objects.get_or_create(user=user, node=granted)
    return user
