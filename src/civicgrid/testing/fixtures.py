"""pytest fixtures: a small two-town world used by the scoping tests of every app."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.utils import translation

from civicgrid.accounts.roles import Role
from civicgrid.people.models import Person
from civicgrid.territory.models import Node, NodeKind
from civicgrid.testing import factories


@dataclass
class World:
    district: Node
    town_a: Node
    town_b: Node
    village_a: Node
    village_b: Node
    person_a: Person
    person_b: Person


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Every test starts in the default language: a request with an English cookie activates English
    on the thread (LocaleMiddleware does not undo it), and the next test in that worker would read
    English messages where it expects Chinese ones."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def world(db: None) -> World:
    """District with towns A and B, one village and one resident in each."""
    district = factories.node(None, NodeKind.DISTRICT, "高新区", code="371571")
    town_a = factories.node(district, NodeKind.TOWN, "顾官屯镇", code="371571100")
    town_b = factories.node(district, NodeKind.TOWN, "许营镇", code="371571101")
    village_a = factories.node(town_a, NodeKind.VILLAGE, "枣寨村", code="371571100201")
    village_b = factories.node(town_b, NodeKind.VILLAGE, "前寨村", code="371571101201")
    person_a = factories.person(village_a, name="张秀英")
    person_b = factories.person(village_b, name="李国庆")
    return World(district, town_a, town_b, village_a, village_b, person_a, person_b)


@pytest.fixture
def admin_user(world: World):  # type: ignore[no-untyped-def]
    """County administrator with the whole district in scope."""
    return factories.user_with_scope(Role.COUNTY_ADMIN, world.district, username="county_admin")


@pytest.fixture
def town_a_user(world: World):  # type: ignore[no-untyped-def]
    """Town officer of town A only."""
    return factories.user_with_scope(Role.TOWN_OFFICER, world.town_a, username="town_a_officer")
