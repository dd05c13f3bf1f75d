"""Scope policies of the territory models."""

from civicgrid.accounts.roles import Action
from civicgrid.territory.models import Assignment, Grant, Node
from civicgrid.territory.scoping import ScopePolicy, register

node_policy = register(ScopePolicy(Node, "path", Action.VIEW_TERRITORY, Action.MANAGE_TERRITORY))
assignment_policy = register(
    ScopePolicy(Assignment, "node__path", Action.VIEW_TERRITORY, Action.MANAGE_ASSIGNMENTS)
)
grant_policy = register(ScopePolicy(Grant, "node__path", Action.MANAGE_ACCOUNTS, Action.MANAGE_ACCOUNTS))
