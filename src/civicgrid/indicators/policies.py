"""Scope policy of indicator values: a value row (per period, or per day) is seen by readers of
indicators whose data scope contains its node (the row carries the node's path, so the filter needs
no join)."""

from civicgrid.accounts.roles import Action
from civicgrid.indicators.models import IndicatorDay, IndicatorValue
from civicgrid.territory.scoping import ScopePolicy, register

value_policy = register(ScopePolicy(IndicatorValue, "scope_path", Action.VIEW_INDICATORS, Action.MANAGE_INDICATORS))
day_policy = register(ScopePolicy(IndicatorDay, "scope_path", Action.VIEW_INDICATORS, Action.MANAGE_INDICATORS))
