"""`flush` empties every table, the audit trail included: the audit guard (which refuses DELETE on
SQLite and TRUNCATE on PostgreSQL) is lifted for the flush and restored after it — the same
behaviour on both databases (used by transactional tests and `civicgrid demo --reset`)."""

from typing import Any

from django.core.management.commands.flush import Command as FlushCommand
from django.db import connections

from civicgrid.core import db_guards


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        connection = connections[options["database"]]
        db_guards.uninstall(connection)
        try:
            super().handle(**options)
        finally:
            db_guards.install(connection)
