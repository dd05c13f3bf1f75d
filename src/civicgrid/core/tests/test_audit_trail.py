"""R18 (append-only audit trail) and R19 (retention: purge only rows past 180 days, archived first)."""

import datetime as dt
import gzip
import io
import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from civicgrid.core import audit, db_guards
from civicgrid.core.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db

COLUMNS = (
    "ts", "actor_id", "actor_username", "ip", "action", "success", "object_type", "object_id",
    "object_repr", "scope_path", "before", "after", "reason",
)


def insert_at(age: dt.timedelta, reason: str) -> int:
    """Insert an audit row with an explicit timestamp (ts is auto_now_add and UPDATE is refused)."""
    ts = connection.ops.adapt_datetimefield_value(timezone.now() - age)
    values = (ts, None, "seed", "10.0.0.1", AuditAction.LOGIN, True, "", "", "", "", None, None, reason)
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO core_auditevent ({', '.join(COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
            values,
        )
    return AuditEvent.objects.get(reason=reason).pk


@pytest.fixture
def event():
    return audit.record(actor=None, action=AuditAction.EXPORT, object_type="people.person", reason="月报")


def _refused(statement) -> str:
    """Run a statement that the database must refuse; return the error text (the transaction stays usable)."""
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic():
        statement()
    return str(excinfo.value)


def test_orm_update_is_refused_by_the_database(event):
    message = _refused(lambda: AuditEvent.objects.filter(pk=event.pk).update(reason="tampered"))
    assert "append-only" in message
    assert AuditEvent.objects.get(pk=event.pk).reason == "月报"


def test_orm_queryset_delete_is_refused_by_the_database(event):
    assert "append-only" in _refused(lambda: AuditEvent.objects.filter(pk=event.pk).delete())
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_raw_sql_update_and_delete_are_refused(event):
    def raw(sql):
        def run():
            with connection.cursor() as cursor:
                cursor.execute(sql, [event.pk])

        return run

    assert "append-only" in _refused(raw("UPDATE core_auditevent SET success = NOT success WHERE id = %s"))
    assert "append-only" in _refused(raw("DELETE FROM core_auditevent WHERE id = %s"))
    assert "append-only" in _refused(raw("UPDATE core_auditevent SET ts = ts WHERE id = %s"))
    assert AuditEvent.objects.filter(pk=event.pk, success=True).count() == 1


def test_emptying_the_table_is_refused(transactional_db):
    # Committed rows, outside a test transaction: PostgreSQL refuses TRUNCATE while the same
    # transaction still has deferred constraint checks pending, which would hide the guard.
    event = audit.record(actor=None, action=AuditAction.EXPORT, object_type="people.person")

    def empty():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("TRUNCATE core_auditevent")  # skips row triggers: a statement trigger refuses it
            else:
                cursor.execute("DELETE FROM core_auditevent")

    assert "append-only" in _refused(empty)
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_flush_lifts_the_guard_only_for_itself(transactional_db):
    # The flush command (transactional tests, `demo --reset`) empties the trail and restores the guard.
    audit.record(actor=None, action=AuditAction.EXPORT, object_type="people.person")
    call_command("flush", "--no-input", verbosity=0)
    assert AuditEvent.objects.count() == 0
    fresh = audit.record(actor=None, action=AuditAction.EXPORT, object_type="people.person")
    with pytest.raises(DatabaseError, match="append-only"):
        AuditEvent.objects.filter(pk=fresh.pk).update(reason="tampered")


def test_model_refuses_save_of_an_existing_row_and_delete(event):
    event.reason = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).reason == "月报"


def test_guard_triggers_exist_on_this_database():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'core_auditevent'")
            names = sorted(row[0] for row in cursor.fetchall())
            assert names == ["core_auditevent_no_delete", "core_auditevent_no_update"]
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'core_auditevent'::regclass AND NOT tgisinternal"
            )
            assert sorted(row[0] for row in cursor.fetchall()) == ["core_auditevent_guard", "core_auditevent_no_truncate"]


def test_no_admin_site_can_delete_audit_rows():
    assert "django.contrib.admin" not in settings.INSTALLED_APPS


def test_database_floor_matches_the_retention_setting():
    assert settings.CIVICGRID_AUDIT_RETENTION_DAYS == db_guards.RETENTION_DAYS == 180


def test_purge_removes_only_rows_past_retention_and_archives_them_first(tmp_path, event):
    young = insert_at(dt.timedelta(days=179), "179 days")
    old = insert_at(dt.timedelta(days=181), "181 days")
    ancient = insert_at(dt.timedelta(days=400), "400 days")

    call_command("audit_purge", "--archive-dir", str(tmp_path), stdout=(out := io.StringIO()))

    remaining = set(AuditEvent.objects.values_list("pk", flat=True))
    assert remaining == {event.pk, young}
    [archive] = tmp_path.iterdir()
    assert out.getvalue() == f"Archived 2 audit events to {archive} and deleted 2.\n"
    with gzip.open(archive, "rt", encoding="utf-8") as stream:
        rows = [json.loads(line) for line in stream]
    assert [(row["pk"], row["fields"]["reason"]) for row in rows] == [(ancient, "400 days"), (old, "181 days")]


def test_purge_with_nothing_to_do(tmp_path, event):
    insert_at(dt.timedelta(days=179), "179 days")
    call_command("audit_purge", "--archive-dir", str(tmp_path), stdout=(out := io.StringIO()))
    assert out.getvalue().startswith("0 audit events older than 180 days")
    assert list(tmp_path.iterdir()) == []
    assert AuditEvent.objects.count() == 2


def test_database_refuses_to_delete_a_179_day_old_row():
    young = insert_at(dt.timedelta(days=179), "179 days")
    assert "append-only" in _refused(lambda: AuditEvent.objects.filter(pk=young).delete())
    assert AuditEvent.objects.filter(pk=young).exists()


@override_settings(CIVICGRID_AUDIT_RETENTION_DAYS=90)
def test_a_shortened_retention_setting_cannot_purge_younger_rows(tmp_path):
    # Someone lowers the setting below the legal six months: the database still says no.
    kept = insert_at(dt.timedelta(days=100), "100 days")
    with pytest.raises(DatabaseError, match="append-only"):
        call_command("audit_purge", "--archive-dir", str(tmp_path), stdout=io.StringIO())
    assert AuditEvent.objects.filter(pk=kept).exists()
