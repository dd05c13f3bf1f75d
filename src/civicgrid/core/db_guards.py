"""Database-level guards that keep the audit trail append-only on SQLite and PostgreSQL alike (R18, R19).

UPDATE is always refused; DELETE only of rows older than the retention period (the purge job);
TRUNCATE always (PostgreSQL). Every statement is idempotent, so `install` may run again (flush does).
"""

from django.db.backends.base.base import BaseDatabaseWrapper

RETENTION_DAYS = 180

SQLITE_INSTALL = [
    """CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update BEFORE UPDATE ON core_auditevent
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS core_auditevent_no_delete BEFORE DELETE ON core_auditevent
        WHEN OLD.ts >= datetime('now', '-{RETENTION_DAYS} days')
        BEGIN SELECT RAISE(ABORT, 'audit events are append-only within the retention period'); END""",
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_update",
    "DROP TRIGGER IF EXISTS core_auditevent_no_delete",
]
# TRUNCATE skips row triggers on PostgreSQL; a statement trigger refuses it (SQLite has no TRUNCATE:
# its `DELETE FROM` without WHERE meets the row trigger above).
POSTGRES_TRUNCATE_INSTALL = [
    """CREATE OR REPLACE FUNCTION core_auditevent_no_truncate() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
        END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent",
    """CREATE TRIGGER core_auditevent_no_truncate BEFORE TRUNCATE ON core_auditevent
        FOR EACH STATEMENT EXECUTE FUNCTION core_auditevent_no_truncate()""",
]
POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION core_auditevent_guard() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' AND OLD.ts < now() - interval '{RETENTION_DAYS} days' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = 'insufficient_privilege';
        END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS core_auditevent_guard ON core_auditevent",
    """CREATE TRIGGER core_auditevent_guard BEFORE UPDATE OR DELETE ON core_auditevent
        FOR EACH ROW EXECUTE FUNCTION core_auditevent_guard()""",
    *POSTGRES_TRUNCATE_INSTALL,
]
POSTGRES_UNINSTALL = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_truncate ON core_auditevent",
    "DROP FUNCTION IF EXISTS core_auditevent_no_truncate()",
    "DROP TRIGGER IF EXISTS core_auditevent_guard ON core_auditevent",
    "DROP FUNCTION IF EXISTS core_auditevent_guard()",
]


def _statements(vendor: str, install: bool) -> list[str]:
    if vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_UNINSTALL
    if vendor == "postgresql":
        return POSTGRES_INSTALL if install else POSTGRES_UNINSTALL
    raise NotImplementedError(f"no audit guard for database vendor {vendor}")


def install(connection: BaseDatabaseWrapper) -> None:
    """Create the append-only triggers."""
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, True):
            cursor.execute(statement)


def uninstall(connection: BaseDatabaseWrapper) -> None:
    """Drop the append-only triggers (only `flush`, which empties the whole database, does this)."""
    with connection.cursor() as cursor:
        for statement in _statements(connection.vendor, False):
            cursor.execute(statement)
