"""Import pages: upload, the job page polling its progress fragment, the error report download;
bad uploads explained on the page; other users' jobs are 404; roles without IMPORT get 403."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_tasks_db.models import DBTaskResult
from openpyxl import load_workbook

from civicgrid.accounts.roles import Role
from civicgrid.core import idnumber
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.ingest.models import ImportJob, ImportStatus
from civicgrid.ingest.services import import_run
from civicgrid.ingest.tests.workbooks import write_csv
from civicgrid.testing import factories


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(path, name=None):
    return SimpleUploadedFile(name or path.name, path.read_bytes())


@pytest.mark.django_db
def test_upload_progress_and_error_report(client, world, town_a_user, tmp_path, django_capture_on_commit_callbacks):
    good = factories.make_id_number()
    bad = good[:17] + ("1" if good[17] != "1" else "2")
    path = write_csv(tmp_path / "人员.csv", [
        ["姓名", "身份证号", "联系电话", "网格编码"],
        ["甲", good, "13812345678", world.village_a.code],
        ["乙", bad, "13812345679", world.village_a.code],
    ])
    client.force_login(town_a_user)

    page = client.get(reverse("ingest:list"))
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    assert [value for value, _ in page.context["form"].fields["schema"].choices] == [
        "people.person", "territory.assignment",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ingest:list"), {"schema": "people.person", "file": upload(path)})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("ingest:detail", args=[job.pk])
    assert DBTaskResult.objects.filter(id=job.task_id).exists()

    detail = client.get(response.url).content.decode()
    assert f'hx-get="{reverse("ingest:progress", args=[job.pk])}"' in detail
    assert 'hx-trigger="every 1s"' in detail

    import_run(job=job)
    fragment = client.get(reverse("ingest:progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in fragment  # finished: polling stops
    assert reverse("ingest:error_report", args=[job.pk]) in fragment
    assert "导入完成" in fragment

    report = client.get(reverse("ingest:error_report", args=[job.pk]))
    assert report.status_code == 200
    assert report["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(report.content))["错误明细"].iter_rows(values_only=True))
    assert rows[1][:4] == ("人员.csv", 3, "身份证号", idnumber.mask(bad))
    assert "校验位" in rows[1][4]


@pytest.mark.django_db
def test_bad_upload_is_explained_on_the_page(client, world, admin_user, tmp_path):
    client.force_login(admin_user)
    exe = tmp_path / "人员.xlsx"
    exe.write_bytes(b"MZ" + b"\x00" * 300)
    response = client.post(reverse("ingest:list"), {"schema": "people.person", "file": upload(exe)})
    assert response.status_code == 400
    assert "可执行程序" in response.content.decode()
    assert not ImportJob.objects.exists()
    missing = client.post(reverse("ingest:list"), {"schema": "people.person"})
    assert missing.status_code == 400
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_dry_run_checkbox(client, world, admin_user, tmp_path):
    client.force_login(admin_user)
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"], ["甲", factories.make_id_number(), world.village_a.code]])
    client.post(reverse("ingest:list"), {"schema": "people.person", "file": upload(path), "dry_run": "on"})
    job = import_run(job=ImportJob.objects.get())
    assert (job.dry_run, job.status, job.rows_created) == (True, ImportStatus.SUCCEEDED, 1)
    assert "预检" in client.get(reverse("ingest:detail", args=[job.pk])).content.decode()


@pytest.mark.django_db
def test_the_job_and_its_audit_row_keep_the_client_address_behind_the_proxy(settings, world, admin_user, tmp_path):
    # nginx in front: REMOTE_ADDR is the proxy; the client's own X-Forwarded-For entry (left) is ignored.
    settings.CIVICGRID_TRUSTED_PROXIES = 1
    client = Client(REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.7")
    client.force_login(admin_user)
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"], ["甲", factories.make_id_number(), world.village_a.code]])
    client.post(reverse("ingest:list"), {"schema": "people.person", "file": upload(path)})
    job = ImportJob.objects.get()
    assert job.client_ip == "203.0.113.7"
    import_run(job=job)  # in the worker: no request, the job carries the address
    events = AuditEvent.objects.filter(action=AuditAction.IMPORT, object_id=str(job.pk))
    assert set(events.values_list("ip", flat=True)) == {"203.0.113.7"}


@pytest.mark.django_db
def test_other_users_jobs_are_not_found(client, world, town_a_user, tmp_path):
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"], ["甲", factories.make_id_number(), "x"]])
    client.force_login(town_a_user)
    client.post(reverse("ingest:list"), {"schema": "people.person", "file": upload(path)})
    job = import_run(job=ImportJob.objects.get())
    other = factories.user_with_scope(Role.TOWN_OFFICER, world.town_a, username="colleague")
    client.force_login(other)
    for name in ("ingest:detail", "ingest:progress", "ingest:error_report"):
        assert client.get(reverse(name, args=[job.pk])).status_code == 404
    assert job.original_filename not in client.get(reverse("ingest:list")).content.decode()


@pytest.mark.django_db
def test_roles_without_import_are_refused(client, world):
    cadre = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a)
    client.force_login(cadre)
    assert client.get(reverse("ingest:list")).status_code == 403
    client.logout()
    assert client.get(reverse("ingest:list")).status_code == 302  # to the login page


@pytest.mark.django_db
def test_blank_template_download(client, world, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("ingest:template", args=["people.person"]))
    assert response.status_code == 200
    header = next(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert header[:3] == ("身份证号*", "姓名*", "性别")
    assert client.get(reverse("ingest:template", args=["territory.geojson"])).status_code == 404
    assert client.get(reverse("ingest:template", args=["no.such"])).status_code == 404
