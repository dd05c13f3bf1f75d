"""Who sees which import jobs: their own; an administrator of the territory also those run inside
their data scope; nobody else's, and a foreign job is the same 404 as a missing one."""

import uuid

import pytest
from django.http import Http404

from civicgrid.accounts.roles import Role
from civicgrid.ingest.selectors import import_job_get, import_job_list
from civicgrid.ingest.services import import_start
from civicgrid.ingest.tests.workbooks import write_csv
from civicgrid.testing import factories


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def jobs(world, tmp_path, admin_user, town_a_user):
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"]])
    town_b_user = factories.user_with_scope(Role.TOWN_OFFICER, world.town_b, username="town_b_officer")
    return {
        "a": import_start(actor=town_a_user, schema="people.person", path=path, enqueue=False),
        "b": import_start(actor=town_b_user, schema="people.person", path=path, enqueue=False),
        "console": import_start(actor=None, schema="people.person", path=path, enqueue=False),
        "town_b_user": town_b_user,
    }


@pytest.mark.django_db
def test_a_user_sees_own_jobs_only(jobs, town_a_user):
    assert list(import_job_list(actor=town_a_user)) == [jobs["a"]]
    assert import_job_get(actor=town_a_user, pk=jobs["a"].pk) == jobs["a"]
    for other in (jobs["b"].pk, jobs["console"].pk, uuid.uuid4(), "not-a-uuid"):
        with pytest.raises(Http404):
            import_job_get(actor=town_a_user, pk=other)


@pytest.mark.django_db
def test_administrators_see_jobs_in_their_scope(jobs, world, admin_user):
    town_a_admin = factories.user_with_scope(Role.COUNTY_ADMIN, world.town_a)
    assert set(import_job_list(actor=admin_user)) == {jobs["a"], jobs["b"]}
    assert set(import_job_list(actor=town_a_admin)) == {jobs["a"]}
    assert jobs["a"].scope_path == world.town_a.path


@pytest.mark.django_db
def test_roles_without_import_see_nothing(jobs, world):
    cadre = factories.user_with_scope(Role.VILLAGE_CADRE, world.district)
    assert list(import_job_list(actor=cadre)) == []
    assert list(import_job_list(actor=None)) == []
