"""Scope policy of the person registry: people are scoped by the node they live in."""

from civicgrid.accounts.roles import Action
from civicgrid.people.models import Person
from civicgrid.territory.scoping import ScopePolicy, register

person_policy = register(
    ScopePolicy(Person, "scope_path", Action.VIEW_PEOPLE, Action.MANAGE_PEOPLE)
)
