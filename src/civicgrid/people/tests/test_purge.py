"""R29: soft-deleted residents are purged after the retention period, with their row history, and
never earlier; residents still referenced by a protected record are kept."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.people.models import Person
from civicgrid.people.services import deleted_retention_days, people_purge_deleted, person_delete
from civicgrid.people.tasks import purge_deleted_people
from civicgrid.territory.models import Assignment, ResponsibilityRole
from civicgrid.testing import factories

NOW = dt.datetime(2026, 11, 29, 3, 30, tzinfo=dt.UTC)


def deleted_days_ago(person: Person, days: float) -> Person:
    person_delete(actor=None, person=person, reason="迁出")
    Person.objects.filter(pk=person.pk).update(deleted_at=NOW - dt.timedelta(days=days))
    return person


def test_default_retention_is_180_days():
    assert deleted_retention_days() == 180


def test_purge_removes_only_rows_deleted_before_the_retention_period(world):
    young = deleted_days_ago(factories.person(world.village_a, name="一"), 179)
    edge = deleted_days_ago(factories.person(world.village_a, name="二"), 180)  # exactly at the cutoff: kept
    old = deleted_days_ago(factories.person(world.village_a, name="三"), 181)
    live = world.person_a

    summary = people_purge_deleted(now=NOW)

    assert (summary.purged, summary.kept_referenced) == (1, 0)
    assert set(Person.objects.values_list("pk", flat=True)) >= {young.pk, edge.pk, live.pk}
    assert not Person.objects.filter(pk=old.pk).exists()
    assert not Person.history.filter(id=old.pk).exists()  # the history repeated the name and ID number
    assert Person.history.filter(id=young.pk).exists()
    event = AuditEvent.objects.get(action=AuditAction.DELETE, object_repr="purged 1")
    assert (event.actor_id, event.after, event.reason) == (None, {"purged_ids": [old.pk]}, "retention 180 days (R29)")


def test_purge_follows_the_clock(world):
    person = deleted_days_ago(factories.person(world.village_a, name="四"), 0)
    assert people_purge_deleted(now=NOW + dt.timedelta(days=179, hours=23)).purged == 0
    assert Person.objects.filter(pk=person.pk).exists()
    assert people_purge_deleted(now=NOW + dt.timedelta(days=180, seconds=1)).purged == 1
    assert not Person.objects.filter(pk=person.pk).exists()


def test_never_deletes_an_undeleted_resident_however_old(world):
    Person.objects.filter(pk=world.person_a.pk).update(created_at=NOW - dt.timedelta(days=5000))
    assert people_purge_deleted(now=NOW).purged == 0
    assert Person.objects.filter(pk=world.person_a.pk).exists()


def test_a_resident_still_referenced_is_kept_and_counted(world):
    person = factories.person(world.village_a, name="五")
    Assignment.objects.create(
        person=person, node=world.village_a, role=ResponsibilityRole.VILLAGE_CADRE, valid_from=dt.date(2020, 1, 1)
    )
    deleted_days_ago(person, 400)
    summary = people_purge_deleted(now=NOW)
    assert (summary.purged, summary.kept_referenced) == (0, 1)
    assert Person.objects.filter(pk=person.pk).exists()
    assert not AuditEvent.objects.filter(object_repr__startswith="purged").exists()


@override_settings(CIVICGRID_PEOPLE_RETENTION_DAYS=30)
def test_retention_is_a_setting(world):
    person = deleted_days_ago(factories.person(world.village_a, name="六"), 31)
    assert people_purge_deleted(now=NOW).purged == 1
    assert not Person.objects.filter(pk=person.pk).exists()


@pytest.mark.django_db
def test_task_uses_the_current_time(world, monkeypatch):
    person = deleted_days_ago(factories.person(world.village_a, name="七"), 181)
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    assert purge_deleted_people.call() == {"purged": 1, "kept_referenced": 0}
    assert not Person.objects.filter(pk=person.pk).exists()
