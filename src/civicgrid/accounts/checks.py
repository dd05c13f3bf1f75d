"""System check: no active account may carry a default/shared name such as admin or root (等保 8.1.4.2; R8).

The username validator stops such names in forms and `createsuperuser`; this check catches rows that
reached the database some other way (raw SQL, an old import, `User.objects.create` skipping validators)."""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.core.checks import CheckMessage, Error, Tags, register
from django.db import DatabaseError, connections
from django.db.models import Q

from civicgrid.accounts.validators import RESERVED_USERNAMES


@register(Tags.security, Tags.database)
def check_reserved_usernames(
    app_configs: Sequence[AppConfig] | None = None, databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """An error for every active account whose name is reserved (case-insensitive)."""
    if not databases:
        return []
    user_model = get_user_model()
    errors: list[CheckMessage] = []
    for alias in databases:
        connection = connections[alias]
        try:
            if user_model._meta.db_table not in connection.introspection.table_names():
                continue  # not migrated yet
            condition = Q()
            for name in sorted(RESERVED_USERNAMES):
                condition |= Q(username__iexact=name)
            names = list(
                user_model._default_manager.using(alias)
                .filter(condition, is_active=True)
                .order_by("username")
                .values_list("username", flat=True)
            )
        except DatabaseError:  # the database is not reachable: other checks report that
            continue
        errors.extend(
            Error(
                f"Active account with a reserved name: {name!r} (database {alias!r})",
                hint="Rename it to a named person's account or deactivate it (等保 8.1.4.2).",
                obj=user_model,
                id="accounts.E001",
            )
            for name in names
        )
    return errors
