"""Importing the person registry (`people.person`) from real-looking ledgers (台账)."""

import datetime as dt

import pytest
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.core import idnumber
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.ingest.models import ImportStatus
from civicgrid.ingest.services import run_import
from civicgrid.ingest.tests.workbooks import Sheet, read_report, write_csv, write_xlsx
from civicgrid.people.models import Person
from civicgrid.people.services import person_delete
from civicgrid.testing import factories

HEADER = ["序号", "姓名", "公民身份号码", "性别", "联系电话", "所属村(社区)", "详细地址"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def ids(count, **kwargs):
    return [factories.make_id_number(dt.date(1970 + n, 3, 9), **kwargs) for n in range(count)]


def village_sheet(title, village_code, people, *, three_rows=False):
    """A village sheet as clerks make them: merged title, a note line, two (or three) merged header
    rows, a 序号 column, data, a 合计 line and a signature line."""
    rows = [
        [f"{title}人员信息台账（2026年）", None, None, None, None, None, None],
        ["填报单位：" + title, None, None, None, "填报日期：2026-03-01", None, None],
    ]
    merges = ["A1:G1", "A2:D2", "E2:G2"]
    if three_rows:
        rows.append(["人员基本情况", None, None, None, None, None, None])
        merges.append("A3:G3")
    top = len(rows) + 1
    rows.append(["序号", "基本信息", None, None, "联系电话", "住址", None])
    rows.append([None, "姓名", "公民身份号码", "性别", None, "所属村(社区)", "详细地址"])
    merges += [f"A{top}:A{top + 1}", f"B{top}:D{top}", f"E{top}:E{top + 1}", f"F{top}:G{top}"]
    for number, (name, id_number, sex, phone) in enumerate(people, start=1):
        rows.append([number, name, id_number, sex, phone, village_code, f"{title}{number}号"])
    rows.append(["合计", f"{len(people)}人", None, None, None, None, None])
    rows.append(["填表人：王会计", None, None, "审核人：李书记", None, None, None])
    return Sheet(title, rows, merges)


@pytest.mark.django_db
def test_real_ledger_with_merged_headers_village_sheets_and_bad_rows(world, tmp_path):
    good_a = [number for number in ids(6) if not number.endswith("X")][:3]
    good_b = ids(2, sex="F")
    bad_checksum = good_a[0][:17] + ("0" if good_a[0][17] != "0" else "1")
    fifteen = "371502800517123"  # pre-1999 number: born 1980-05-17, sequence 123 (male)
    sheet_a = village_sheet("枣寨村", world.village_a.code, [
        ("张一", good_a[0], "男", "13800000001"),
        ("张二", good_a[1], "男", "13800000002"),
        ("张三", int(good_a[2]), "男", ""),          # typed as a number: Excel already rounded it
        ("张四", bad_checksum, "男", ""),
        ("张五", fifteen, "男", "0635-8123456"),
        ("张一", good_a[0], "男", "13800000001"),    # the same person twice
        ("张六", factories.make_id_number(dt.date(1990, 1, 1), sex="M"), "女", ""),  # sex contradicts the ID
    ])
    sheet_b = village_sheet("前寨村", world.village_b.code, [
        ("李一", good_b[0], "女", "13900000001"),
        ("李二", good_b[1], "女", "1390000"),       # not a phone number
    ], three_rows=True)
    notes = Sheet("填表说明", [["请勿修改表头"], ["身份证号列请设为文本"]])
    path = write_xlsx(tmp_path / "台账.xlsx", [sheet_a, sheet_b, notes])

    job = run_import(actor=None, schema="people.person", path=path)

    assert job.status == ImportStatus.SUCCEEDED
    assert (job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_error) == (9, 4, 0, 0, 5)
    upgraded = idnumber.upgrade_15_to_18(fifteen)
    created = set(Person.objects.filter(name__in=["张一", "张二", "张五", "李一"]).values_list("id_number", flat=True))
    assert created == {good_a[0], good_a[1], upgraded, good_b[0]}
    zhang_wu = Person.objects.get(id_number=upgraded)
    assert (zhang_wu.birth_date, zhang_wu.sex, zhang_wu.phone) == (dt.date(1980, 5, 17), "M", "0635-8123456")
    assert zhang_wu.address_node == world.village_a
    assert zhang_wu.scope_path == world.village_a.path
    assert Person.objects.get(id_number=good_b[0]).address == "前寨村1号"

    report = read_report(job.error_report_path)
    by_row = {(sheet, row): (column, value, reason) for sheet, row, column, value, reason in report}
    # Sheet 1: title, note, two header rows -> data from row 5. Sheet 2 has three header rows.
    assert by_row[("枣寨村", 7)][0] == "公民身份号码"
    assert "数字格式" in by_row[("枣寨村", 7)][2]
    assert "校验位" in by_row[("枣寨村", 8)][2]
    assert by_row[("枣寨村", 8)][1] == idnumber.mask(bad_checksum)  # the ID is masked in the report
    assert "与第5行重复" in by_row[("枣寨村", 10)][2]
    assert by_row[("枣寨村", 11)][0] == "性别"
    assert "性别与身份证号不符" in by_row[("枣寨村", 11)][2]
    assert by_row[("前寨村", 7)][0] == "联系电话"
    assert "联系电话格式不正确" in by_row[("前寨村", 7)][2]
    assert by_row[("填表说明", "")][2].startswith("未找到与")
    assert len(report) == 6  # five bad rows and the sheet note; 合计 and signature lines are not errors
    assert "1390000" not in str(report)  # phones are masked too


@pytest.mark.django_db
def test_import_twice_changes_nothing(world, tmp_path):
    people = [("赵甲", n, "男", "13700000000") for n in ids(4)]
    path = write_xlsx(tmp_path / "p.xlsx", [village_sheet("枣寨村", world.village_a.code, people)])
    first = run_import(actor=None, schema="people.person", path=path)
    snapshot = list(Person.objects.order_by("id").values())
    second = run_import(actor=None, schema="people.person", path=path)

    assert (first.rows_created, first.rows_updated, first.rows_unchanged) == (4, 0, 0)
    assert (second.rows_created, second.rows_updated, second.rows_unchanged, second.rows_error) == (0, 0, 4, 0)
    assert list(Person.objects.order_by("id").values()) == snapshot


@pytest.mark.django_db
def test_changed_rows_are_updates_and_blank_cells_keep_registered_values(world, tmp_path):
    person = world.person_a
    rows = [["姓名", "身份证号", "手机号", "网格编码", "家庭住址"]]
    write_csv(tmp_path / "a.csv", [*rows, [person.name, person.id_number, "13511112222", world.village_a.code, "老地址"]])
    run_import(actor=None, schema="people.person", path=tmp_path / "a.csv")
    write_csv(tmp_path / "b.csv", [*rows, ["张秀英（改）", person.id_number, "", world.village_b.code, ""]])

    job = run_import(actor=None, schema="people.person", path=tmp_path / "b.csv")

    person.refresh_from_db()
    assert (job.rows_created, job.rows_updated, job.rows_unchanged) == (0, 1, 0)
    assert (person.name, person.phone, person.address) == ("张秀英（改）", "13511112222", "老地址")
    assert (person.address_node, person.scope_path) == (world.village_b, world.village_b.path)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
@pytest.mark.django_db
def test_csv_in_every_encoding_clerks_save(world, tmp_path, encoding):
    numbers = ids(2)
    path = write_csv(tmp_path / "p.csv", [
        ["序号", "姓名", "身份证号码", "联系电话", "网格编码"],
        ["1", "钱多多", numbers[0], "13600000001", world.village_a.code],
        ["2", "孙悟空", numbers[1], "", "枣寨村"],  # a unique node name works too
    ], encoding=encoding)

    job = run_import(actor=None, schema="people.person", path=path)

    assert (job.status, job.rows_created, job.rows_error) == (ImportStatus.SUCCEEDED, 2, 0)
    assert sorted(Person.objects.filter(id_number__in=numbers).values_list("name", flat=True)) == ["孙悟空", "钱多多"]


@pytest.mark.django_db
def test_dry_run_counts_without_writing(world, tmp_path):
    numbers = ids(3)
    path = write_csv(tmp_path / "p.csv", [
        ["姓名", "身份证号", "网格编码"],
        ["周一", numbers[0], world.village_a.code],
        ["周二", numbers[1], world.village_a.code],
        [world.person_a.name + "改", world.person_a.id_number, world.village_a.code],
        ["周三", numbers[2], "999"],
    ])
    before = list(Person.objects.order_by("id").values())

    job = run_import(actor=None, schema="people.person", path=path, dry_run=True)

    assert (job.status, job.dry_run) == (ImportStatus.SUCCEEDED, True)
    assert (job.rows_total, job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_error) == (4, 2, 1, 0, 1)
    assert list(Person.objects.order_by("id").values()) == before
    assert read_report(job.error_report_path)[0][4].startswith("网格编码“999”不存在")


@pytest.mark.django_db
def test_town_officer_writes_only_rows_in_scope(world, town_a_user, tmp_path):
    numbers = ids(3)
    path = write_csv(tmp_path / "p.csv", [
        ["姓名", "身份证号", "网格编码"],
        ["吴甲", numbers[0], world.village_a.code],
        ["吴乙", numbers[1], world.village_b.code],                       # town B: not theirs
        ["改名", world.person_b.id_number, world.village_a.code],         # a town-B resident moved in
        ["吴丙", numbers[2], world.town_a.code],
    ])

    job = run_import(actor=town_a_user, schema="people.person", path=path)

    assert (job.rows_created, job.rows_updated, job.rows_error) == (2, 0, 2)
    assert set(Person.objects.filter(id_number__in=numbers).values_list("name", flat=True)) == {"吴甲", "吴丙"}
    world.person_b.refresh_from_db()
    assert (world.person_b.name, world.person_b.address_node) == ("李国庆", world.village_b)
    reasons = {row: reason for _, row, _, _, reason in read_report(job.error_report_path)}
    assert reasons[3].startswith("不在您的数据范围内")
    assert reasons[4].startswith("不在您的数据范围内")
    event = AuditEvent.objects.get(action=AuditAction.IMPORT, object_id=str(job.pk))
    assert event.actor == town_a_user
    assert event.after["rows_created"] == 2
    assert event.after["rows_error"] == 2


@pytest.mark.django_db
def test_role_without_people_rights_may_not_import_people(world, tmp_path):
    clerk = factories.user_with_scope(Role.DEPARTMENT_CLERK, world.district)  # holds IMPORT only
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"], ["郑", ids(1)[0], world.village_a.code]])
    with pytest.raises(ApplicationError, match="无权导入"):
        run_import(actor=clerk, schema="people.person", path=path)
    assert Person.objects.count() == 2


@pytest.mark.django_db
def test_soft_deleted_person_is_not_revived(world, tmp_path):
    person_delete(actor=None, person=world.person_a, reason="迁出")
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"], ["张秀英", world.person_a.id_number, world.village_a.code]])

    job = run_import(actor=None, schema="people.person", path=path)

    world.person_a.refresh_from_db()
    assert job.rows_error == 1
    assert world.person_a.deleted_at is not None
    assert "已被删除" in read_report(job.error_report_path)[0][4]


@pytest.mark.django_db
def test_upsert_leaves_a_soft_deleted_person_alone_and_counts_the_rest(world, tmp_path):
    # The upsert's guard, not a lookup before it, keeps the deleted row as it is; the lookup after it
    # runs because fewer rows were written than the batch held, and tells error from unchanged.
    person_delete(actor=None, person=world.person_a, reason="迁出")
    new = ids(1)[0]
    path = write_csv(tmp_path / "p.csv", [
        ["姓名", "身份证号", "网格编码"],
        ["改了名", world.person_a.id_number, world.village_b.code],
        ["新人", new, world.village_a.code],
        [world.person_b.name, world.person_b.id_number, world.person_b.address_node.code],
    ])

    job = run_import(actor=None, schema="people.person", path=path)

    assert (job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_error) == (1, 0, 1, 1)
    world.person_a.refresh_from_db()
    assert (world.person_a.name, world.person_a.address_node) == ("张秀英", world.village_a)
    assert world.person_a.deleted_at is not None
    assert [line[1] for line in read_report(job.error_report_path)] == [2]


@pytest.mark.django_db
def test_declared_birth_date_is_checked_and_dates_in_many_forms_accepted(world, tmp_path):
    born = dt.date(1985, 7, 2)
    numbers = [factories.make_id_number(born) for _ in range(4)]
    path = write_xlsx(tmp_path / "p.xlsx", [Sheet("人员", [
        ["姓名", "身份证号", "出生日期", "网格编码"],
        ["甲", numbers[0], born, world.village_a.code],           # a date cell
        ["乙", numbers[1], "1985年7月2日", world.village_a.code],
        ["丙", numbers[2], "1985/07/02", world.village_a.code],
        ["丁", numbers[3], "1985-07-03", world.village_a.code],   # one day off
    ])])

    job = run_import(actor=None, schema="people.person", path=path)

    assert (job.rows_created, job.rows_error) == (3, 1)
    assert read_report(job.error_report_path)[0][1:3] == (5, "出生日期")


@pytest.mark.django_db
def test_backslashes_tabs_and_line_breaks_in_cells_are_stored_as_typed(world, tmp_path):
    # PostgreSQL receives the batch as COPY text and SQLite as JSON: both escape these characters.
    numbers = ids(2)
    path = write_csv(tmp_path / "p.csv", [
        ["姓名", "身份证号", "网格编码", "详细地址"],
        ["王\\五", numbers[0], world.village_a.code, "一组\t3号\n东院\\N"],
        ["\\N", numbers[1], world.village_a.code, "\r\n二组"],
    ])
    started = timezone.now()

    job = run_import(actor=None, schema="people.person", path=path)

    assert (job.rows_created, job.rows_error) == (2, 0)
    first, second = (Person.objects.get(id_number=number) for number in numbers)
    assert (first.name, first.address) == ("王\\五", "一组\t3号\n东院\\N")
    assert (second.name, second.address) == ("\\N", "二组")  # the cell's outer line break is trimmed
    assert started <= first.created_at == first.updated_at <= timezone.now()


@pytest.mark.django_db
def test_a_batch_of_new_people_with_one_registered_person_is_still_an_upsert(world, tmp_path):
    # On PostgreSQL a batch of only new people is COPied straight into the table; one registered ID
    # number in the batch makes that fail and the batch goes through the upsert instead, and so do
    # the batches after it (the second batch here holds only new people).
    numbers = ids(3)
    path = write_csv(tmp_path / "p.csv", [
        ["姓名", "身份证号", "网格编码"],
        ["新甲", numbers[0], world.village_a.code],
        ["张秀英（新）", world.person_a.id_number, world.village_a.code],
        ["新乙", numbers[1], world.village_a.code],
        ["新丙", numbers[2], world.village_b.code],
    ])

    job = run_import(actor=None, schema="people.person", path=path, batch_size=2)

    assert (job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_error) == (3, 1, 0, 0)
    assert Person.objects.get(id_number=world.person_a.id_number).name == "张秀英（新）"
    assert Person.objects.filter(id_number__in=numbers).count() == 3


@pytest.mark.django_db
def test_small_batches_count_exactly_across_batches(world, tmp_path):
    numbers = ids(25)
    rows = [["姓名", "身份证号", "网格编码"]] + [[f"批{n}", number, world.village_a.code] for n, number in enumerate(numbers)]
    rows.insert(12, ["批重复", numbers[3], world.village_a.code])
    path = write_csv(tmp_path / "p.csv", rows)

    job = run_import(actor=None, schema="people.person", path=path, batch_size=4)

    assert (job.rows_total, job.rows_created, job.rows_error, job.rows_processed) == (26, 25, 1, 26)
    assert Person.objects.filter(id_number__in=numbers).count() == 25
