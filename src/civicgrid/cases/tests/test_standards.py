"""Standards: versions, publishing and immutability, and the .xlsx import/export round trip with
malformed files rejected whole."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from openpyxl import Workbook, load_workbook

from civicgrid.accounts.roles import Role
from civicgrid.cases.models import Standard, StandardItem, StandardSection, StandardVersion, VersionStatus
from civicgrid.cases.standards import (
    HEADERS,
    ItemSpec,
    StandardImportError,
    export_rows,
    read_items,
    standard_import_xlsx,
    standard_version_copy,
    standard_version_create,
    standard_version_delete,
    standard_version_export,
    standard_version_publish,
)
from civicgrid.cases.tests.factories import published_standard, traffic_items
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 1, 1)


def xlsx(rows, headers=HEADERS, title_row: str | None = None) -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    if title_row:
        sheet.append([title_row])
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile("测评体系.xlsx", buffer.getvalue())


def item_tuples(version: StandardVersion) -> list[tuple]:
    return [
        (i.section.title, i.code, i.title, i.criteria, i.rule, i.points, i.comparison, i.threshold, i.unit, i.applies_to)
        for i in version.items.select_related("section").order_by("order")
    ]


def test_create_numbers_versions_and_keeps_sections_in_order():
    first = standard_version_create(actor=None, code="WMJT", name="文明交通", effective_from=DAY, items=traffic_items())
    second = standard_version_create(actor=None, code="WMJT", effective_from=DAY, items=traffic_items())
    assert (first.number, second.number, first.status) == (1, 2, VersionStatus.DRAFT)
    assert list(first.sections.values_list("order", "title")) == [(1, "路口秩序"), (2, "交通设施")]
    assert Standard.objects.get().name == "文明交通"
    with pytest.raises(ApplicationError, match="新测评体系须填写名称"):
        standard_version_create(actor=None, code="NEW", effective_from=DAY, items=traffic_items())
    bad = [*traffic_items(), traffic_items()[0]]
    with pytest.raises(ApplicationError, match="编号重复：1.1"):
        standard_version_create(actor=None, code="WMJT", effective_from=DAY, items=bad)
    with pytest.raises(ApplicationError, match="2.9：实测值项目须填写比较方式和阈值"):
        standard_version_create(actor=None, code="WMJT", effective_from=DAY, items=[
            ItemSpec("s", "2.9", "遵章率", "measured", Decimal("5"), ["post"])])


def test_published_versions_are_immutable_and_changed_by_copy():
    version = published_standard()
    assert version.status == VersionStatus.PUBLISHED
    assert version.published_at is not None
    item = version.items.first()
    item.title = "改过的标题"
    with pytest.raises(ApplicationError, match="已发布的测评体系版本不能修改"):
        item.save()
    section = version.sections.first()
    with pytest.raises(ApplicationError, match="已发布的测评体系版本不能修改"):
        section.save()
    with pytest.raises(ApplicationError, match="已发布，不能重复发布"):
        standard_version_publish(actor=None, version=version)
    with pytest.raises(ApplicationError, match="已发布的版本不能删除"):
        standard_version_delete(actor=None, version=version)
    copy = standard_version_copy(actor=None, version=version, effective_from=dt.date(2026, 7, 1))
    assert (copy.number, copy.status, copy.note) == (2, VersionStatus.DRAFT, "由 v1 复制")
    assert item_tuples(copy) == item_tuples(version)
    standard_version_delete(actor=None, version=copy)
    assert StandardVersion.objects.count() == 1


def test_only_standard_managers_change_standards(world):
    inspector = factories.user_with_scope(Role.INSPECTOR, world.district, username="inspector")
    with pytest.raises(ApplicationError, match="无权维护测评体系"):
        standard_version_create(actor=inspector, code="X", name="x", effective_from=DAY, items=traffic_items())
    admin = factories.user_with_scope(Role.COUNTY_ADMIN, world.district, username="admin")
    draft = standard_version_create(actor=admin, code="X", name="x", effective_from=DAY, items=traffic_items())
    with pytest.raises(ApplicationError, match="无权维护测评体系"):
        standard_version_publish(actor=inspector, version=draft)
    assert standard_version_publish(actor=admin, version=draft).published_by == admin


def test_export_then_import_gives_the_same_items(world):
    admin = factories.user_with_scope(Role.COUNTY_ADMIN, world.district, username="admin")
    version = published_standard()
    content = standard_version_export(actor=admin, version=version)
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["测评项目", "说明"]
    rows = list(book["测评项目"].iter_rows(values_only=True))
    assert list(rows[0]) == ["章节", "编号", "检查项目", "评分标准", "评分方式", "分值", "比较", "阈值", "单位", "适用类型"]
    assert list(rows[4]) == ["交通设施", "2.2", "行人遵章率", None, "实测值", "10", "≥", "98", "%", "点段"]
    imported = standard_import_xlsx(actor=admin, upload=SimpleUploadedFile("x.xlsx", content), code="WMJT-LK",
                                    effective_from=dt.date(2026, 7, 1))
    assert (imported.number, imported.status) == (2, VersionStatus.DRAFT)
    assert item_tuples(imported) == item_tuples(version)
    assert export_rows(imported) == export_rows(version)
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="cases.standardversion").count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.IMPORT, object_type="cases.standardversion").count() == 1


def test_an_english_export_keeps_the_checklist_chinese_and_reads_back(world):
    """The items sheet is the import's format (Chinese headers, rule words and kind names) in every
    language; only the about sheet follows the reader. Before, the kinds column came out in English
    and the file could not be imported again."""
    admin = factories.user_with_scope(Role.COUNTY_ADMIN, world.district, username="admin")
    version = published_standard()
    with translation.override("en"):
        content = standard_version_export(actor=admin, version=version)
        imported = standard_import_xlsx(actor=admin, upload=SimpleUploadedFile("x.xlsx", content), code="WMJT-LK",
                                        effective_from=dt.date(2026, 7, 1))
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Standard items", "Description"]
    rows = list(book["Standard items"].iter_rows(values_only=True))
    assert list(rows[0]) == ["章节", "编号", "检查项目", "评分标准", "评分方式", "分值", "比较", "阈值", "单位", "适用类型"]
    assert list(rows[4]) == ["交通设施", "2.2", "行人遵章率", None, "实测值", "10", "≥", "98", "%", "点段"]
    about = list(book["Description"].iter_rows(values_only=True))
    assert about[:3] == [("Item", "Value"), ("Standard code", "WMJT-LK"), ("Standard name", "文明交通路口测评")]
    assert about[4] == ("Status", "Published")
    assert item_tuples(imported) == item_tuples(version)
    assert imported.note == "Imported from x.xlsx"


def test_standard_messages_in_english():
    with translation.override("en"):
        with pytest.raises(ApplicationError) as caught:
            standard_version_create(actor=None, code="WMJT", name="x", effective_from=DAY, items=[
                ItemSpec("s", "2.9", "遵章率", "measured", Decimal("5"), ["post"], comparison="gte",
                         threshold=Decimal("1"), unit="%"),
                ItemSpec("s", "3.1", "x", "points", Decimal("5"), ["nowhere"])])
        assert caught.value.message == "3.1: Unknown node kind: nowhere"
        version = published_standard()
        copy = standard_version_copy(actor=None, version=version, effective_from=dt.date(2026, 7, 1))
    assert copy.note == "Copied from v1"
    with pytest.raises(StandardImportError) as caught:
        read_items(xlsx([["路口秩序", "1.1", "标题", "", "不知道", "5", "", "", "", "点段"]]))
    assert "评分方式：未知的评分方式“不知道”，可填：" in caught.value.message
    with translation.override("en"), pytest.raises(StandardImportError) as caught:
        read_items(xlsx([["路口秩序", "1.1", "标题", "", "不知道", "5", "", "", "", "点段"]]))
    assert "评分方式: Scoring method: unknown value “不知道”; allowed: 合格/不合格、" in caught.value.message


def test_import_reads_real_world_spellings():
    upload = xlsx(
        [
            ["路口秩序", "1", "礼让斑马线", "", "合格/不合格", 10, "", "", "", "点段"],
            ["路口秩序", "2", "行人遵章率", "高峰时段观测", "实测", "5分", "", "≥98", "%", "路口、线"],
            ["交通设施", "3", "标线清晰", "", "计分", 4.5, "", "", "", "post"],
        ],
        headers=["章节", "序号", "测评项目", "评分标准", "评分方式", "分值", "比较", "标准值", "单位", "适用对象"],
        title_row="聊城开发区文明交通路口测评细则（2026版）",
    )
    version = standard_import_xlsx(actor=None, upload=upload, code="LC", name="聊城细则", effective_from=DAY)
    assert item_tuples(version) == [
        ("路口秩序", "1", "礼让斑马线", "", "pass_fail", Decimal("10.00"), "", None, "", ["post"]),
        ("路口秩序", "2", "行人遵章率", "高峰时段观测", "measured", Decimal("5.00"), "gte", Decimal("98.000"), "%",
         ["post", "line"]),
        ("交通设施", "3", "标线清晰", "", "points", Decimal("4.50"), "", None, "", ["post"]),
    ]


def test_malformed_file_is_rejected_whole_with_every_reason():
    upload = xlsx([
        ["路口秩序", "1", "礼让斑马线", "", "看心情", 10, "", "", "", "点段"],
        ["路口秩序", "2", "", "", "计分", -1, "", "", "", "点段"],
        ["路口秩序", "3", "遵章率", "", "实测", 5, "", "", "", "宇宙"],
        ["路口秩序", "4", "标线", "", "计分", 5, "≥", "98", "", "点段"],
        ["路口秩序", "1", "重复", "", "计分", 5, "", "", "", "点段"],
    ])
    with pytest.raises(StandardImportError) as caught:
        standard_import_xlsx(actor=None, upload=upload, code="BAD", name="坏文件", effective_from=DAY)
    assert caught.value.rows == [
        (2, "评分方式", "未知的评分方式“看心情”，可填：合格/不合格、合格不合格、是否合格、是否、计分、评分、打分、实测、实测值、测量值"),
        (3, "检查项目", "必填项为空"),
        (3, "分值", "分值须大于 0 且不超过 9999"),
        (4, "适用类型", "未知的适用类型“宇宙”，可填：市、区县/开发区、镇/街道、村/社区、网格、交警大队辖区、片、线、点段"),
        (5, "阈值", "只有实测值项目可以填写比较方式和阈值"),
        (6, "编号", "与第 2 行编号重复"),
    ]
    assert caught.value.message.startswith("文件有 6 处错误，未导入任何内容：第 2 行 评分方式")
    assert (Standard.objects.count(), StandardItem.objects.count(), StandardSection.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("空.xlsx", b"", "文件是空的"),
        ("假.xlsx", b"MZ\x90\x00\x03", "文件实际是可执行程序"),
        ("坏.xlsx", b"PK\x03\x04garbage", "文件已损坏"),
    ],
)
def test_files_that_are_no_spreadsheet_are_refused(name, content, message):
    with pytest.raises(ApplicationError, match=message):
        standard_import_xlsx(actor=None, upload=SimpleUploadedFile(name, content), code="X", name="x", effective_from=DAY)
    assert Standard.objects.count() == 0


def test_a_sheet_without_the_headers_names_what_is_missing():
    upload = xlsx([["a", "b"]], headers=["姓名", "身份证号"])
    with pytest.raises(StandardImportError, match="缺少必需的列：“章节”、“编号”、“检查项目”、“评分方式”、“分值”、“适用类型”"):
        standard_import_xlsx(actor=None, upload=upload, code="X", name="x", effective_from=DAY)
    with pytest.raises(StandardImportError, match="文件中没有检查项目"):
        standard_import_xlsx(actor=None, upload=xlsx([]), code="X", name="x", effective_from=DAY)
