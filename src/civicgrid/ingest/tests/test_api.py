"""Import API (router mounted by config/api.py at /imports/): start, status, error report."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from ninja.testing import TestClient

from civicgrid.accounts.roles import Role
from civicgrid.ingest.api import router
from civicgrid.ingest.models import ImportJob
from civicgrid.ingest.services import import_run
from civicgrid.ingest.tests.workbooks import write_csv
from civicgrid.testing import factories


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def csv_file(world, tmp_path):
    path = write_csv(tmp_path / "p.csv", [
        ["姓名", "身份证号", "网格编码"], ["甲", factories.make_id_number(), world.village_a.code], ["乙", "1", "x"],
    ])
    return SimpleUploadedFile("p.csv", path.read_bytes())


@pytest.mark.django_db
def test_start_status_and_report(world, town_a_user, csv_file):
    client = TestClient(router)
    started = client.post("/", data={"schema": "people.person"}, FILES={"file": csv_file}, user=town_a_user)
    assert started.status_code == 201
    body = started.json()
    assert (body["status"], body["schema_name"], body["error_report_url"]) == ("queued", "people.person", None)

    import_run(job=ImportJob.objects.get(pk=body["id"]))
    status = client.get(f"/{body['id']}", user=town_a_user).json()
    assert (status["status"], status["rows_created"], status["rows_error"], status["percent"]) == ("succeeded", 1, 1, 100)
    assert status["error_report_url"].endswith("/report/")
    report = client.get(f"/{body['id']}/error-report", user=town_a_user)
    assert report.status_code == 200
    assert report["Content-Type"].startswith("application/vnd.openxmlformats")
    assert [job["id"] for job in client.get("/", user=town_a_user).json()] == [body["id"]]


@pytest.mark.django_db
def test_refusals(world, town_a_user, csv_file, tmp_path):
    client = TestClient(router)
    exe = SimpleUploadedFile("p.xlsx", b"MZ" + b"\x00" * 100)
    bad = client.post("/", data={"schema": "people.person"}, FILES={"file": exe}, user=town_a_user)
    assert bad.status_code == 400
    assert "可执行程序" in bad.json()["detail"]
    cadre = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a)
    assert client.post("/", data={"schema": "people.person"}, FILES={"file": csv_file}, user=cadre).status_code == 403
    job = client.post("/", data={"schema": "people.person"}, FILES={"file": csv_file}, user=town_a_user).json()
    other = factories.user_with_scope(Role.TOWN_OFFICER, world.town_a, username="colleague")
    assert client.get(f"/{job['id']}", user=other).status_code == 404
    assert client.get("/not-a-uuid", user=town_a_user).status_code == 404
    assert client.get(f"/{job['id']}/error-report", user=town_a_user).status_code == 404  # none yet
