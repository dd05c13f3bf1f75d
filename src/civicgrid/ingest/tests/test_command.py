"""`civicgrid import`: counts, the error report's path, a non-zero exit for a rejected file."""

import pytest
from django.core.management import CommandError, call_command

from civicgrid.ingest.models import ImportJob
from civicgrid.ingest.tests.workbooks import square, write_csv, write_geojson
from civicgrid.people.models import Person
from civicgrid.territory.models import Node
from civicgrid.testing import factories


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.django_db
def test_import_prints_counts_and_the_error_report(world, tmp_path, capsys):
    number = factories.make_id_number()
    path = write_csv(tmp_path / "p.csv", [
        ["姓名", "身份证号", "网格编码"], ["甲", number, world.village_a.code], ["乙", "123", world.village_a.code],
    ])

    call_command("import", "people.person", str(path))

    out = capsys.readouterr().out
    job = ImportJob.objects.get()
    assert "新增 1，更新 0，未变 0，错误 1" in out
    assert f"错误报告: {job.error_report_path}" in out
    assert Person.objects.filter(id_number=number).exists()


@pytest.mark.django_db
def test_dry_run_writes_nothing(world, tmp_path, capsys):
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"], ["甲", factories.make_id_number(), world.village_a.code]])
    call_command("import", "people.person", str(path), "--dry-run", "--no-progress")
    assert "预检 people.person: 共 1 行，新增 1" in capsys.readouterr().out
    assert Person.objects.count() == 2


@pytest.mark.django_db
def test_rejected_file_exits_non_zero(world, tmp_path):
    exe = tmp_path / "p.xlsx"
    exe.write_bytes(b"MZ" + b"\x00" * 100)
    with pytest.raises(CommandError, match="可执行程序"):
        call_command("import", "people.person", str(exe), "--no-progress")
    wrong = write_csv(tmp_path / "w.csv", [["甲", "乙"], ["1", "2"]])
    with pytest.raises(CommandError, match="缺少必需的列"):
        call_command("import", "people.person", str(wrong), "--no-progress")
    with pytest.raises(CommandError, match="文件不存在"):
        call_command("import", "people.person", str(tmp_path / "missing.csv"))


@pytest.mark.django_db
def test_geojson_from_the_console(world, tmp_path, capsys):
    path = write_geojson(tmp_path / "g.geojson", [
        {"type": "Feature", "properties": {"code": world.town_a.code}, "geometry": square(116, 36)},
    ])
    call_command("import", "territory.geojson", str(path), "--no-progress")
    assert "更新 1" in capsys.readouterr().out
    assert Node.objects.get(pk=world.town_a.pk).geometry == square(116, 36)
