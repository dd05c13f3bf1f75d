"""Importing the territory: node trees, responsibility assignments and GeoJSON geometry."""

import datetime as dt

import pytest

from civicgrid.accounts.roles import Role
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.ingest.models import ImportStatus
from civicgrid.ingest.services import run_import
from civicgrid.ingest.tests.workbooks import Sheet, read_report, square, write_csv, write_geojson, write_xlsx
from civicgrid.territory.models import Assignment, Node, NodeKind, ResponsibilityRole
from civicgrid.testing import factories


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def reasons(job):
    return {row: (column, reason) for _, row, column, _, reason in read_report(job.error_report_path)}


# -- nodes ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_node_tree_in_any_order_resolves_parents_within_the_file(world, tmp_path):
    path = write_xlsx(tmp_path / "nodes.xlsx", [Sheet("网格", [
        ["顾官屯镇网格划分表", None, None, None],
        ["编码", "名称", "类型", "上级编码"],
        ["G0102", "枣寨二网格", "网格", "V01"],         # its parent comes later in the file
        ["V01", "东村", "村(社区)", world.town_a.code],
        ["G0101", "枣寨一网格", "网格", "V01"],
        ["X9", "错层", "网格", world.town_a.code],      # a grid cannot sit under a town
        ["G9", "孤儿", "网格", "NOPE"],
        ["C1", "甲", "网格", "C2"],                     # a cycle
        ["C2", "乙", "网格", "C1"],
        ["Z1", "新片区", "片区", world.district.code],   # a zone under a district: wrong hierarchy too
    ], merges=["A1:D1"])])

    job = run_import(actor=None, schema="territory.node", path=path)

    assert job.status == ImportStatus.SUCCEEDED
    assert (job.rows_total, job.rows_created, job.rows_error) == (8, 3, 5)
    village = Node.objects.get(code="V01")
    grids = Node.objects.filter(code__in=["G0101", "G0102"]).order_by("code")
    assert (village.kind, village.parent, village.depth) == (NodeKind.VILLAGE, world.town_a, world.town_a.depth + 1)
    assert [(grid.parent_id, grid.path, grid.depth) for grid in grids] == [
        (village.pk, f"{village.path}{grid.pk}/", village.depth + 1) for grid in grids
    ]
    errors = reasons(job)
    assert "不能设在" in errors[6][1]
    assert errors[7] == ("上级编码", "上级编码“NOPE”不存在")
    assert "成环" in errors[8][1]
    assert "成环" in errors[9][1]
    assert "不能设在" in errors[10][1]


@pytest.mark.django_db
def test_node_import_is_idempotent_renames_and_refuses_moves(world, tmp_path):
    header = ["节点编码", "节点名称", "节点类型", "上级节点编码"]
    write_csv(tmp_path / "a.csv", [header, ["V02", "西村", "村", world.town_a.code]])
    first = run_import(actor=None, schema="territory.node", path=tmp_path / "a.csv")
    again = run_import(actor=None, schema="territory.node", path=tmp_path / "a.csv")
    write_csv(tmp_path / "b.csv", [
        header,
        ["V02", "西村（新）", "村", world.town_a.code],
        [world.village_a.code, world.village_a.name, "村", world.town_b.code],  # a move
        [world.village_b.code, world.village_b.name, "社区", world.town_b.code],  # same: 社区 is a village
    ])
    changed = run_import(actor=None, schema="territory.node", path=tmp_path / "b.csv")

    assert (first.rows_created, again.rows_created, again.rows_unchanged) == (1, 0, 1)
    assert (changed.rows_updated, changed.rows_unchanged, changed.rows_error) == (1, 1, 1)
    assert Node.objects.get(code="V02").name == "西村（新）"
    assert Node.objects.get(pk=world.village_a.pk).parent == world.town_a
    assert "导入不移动节点" in reasons(changed)[3][1]


@pytest.mark.django_db
def test_node_import_by_a_county_admin_stays_in_scope(world, tmp_path):
    other = factories.node(None, NodeKind.DISTRICT, "别的区", code="371599")
    admin_a = factories.user_with_scope(Role.COUNTY_ADMIN, world.town_a)
    path = write_csv(tmp_path / "n.csv", [
        ["编码", "名称", "类型", "上级编码"],
        ["V10", "新村", "村", world.town_a.code],
        ["T10", "新镇", "镇", other.code],
        ["R10", "新区", "区县", ""],
    ])

    job = run_import(actor=admin_a, schema="territory.node", path=path)

    assert (job.rows_created, job.rows_error) == (1, 2)
    assert not Node.objects.filter(code__in=["T10", "R10"]).exists()
    errors = reasons(job)
    assert errors[3][1].startswith("不在您的数据范围内")
    assert "上级编码" in errors[4][1]


# -- assignments ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_assignments_follow_the_service_rules_and_are_idempotent(world, tmp_path):
    helper = factories.person(world.village_a, name="王帮扶")
    successor = factories.person(world.village_a, name="刘接任")
    path = write_xlsx(tmp_path / "a.xlsx", [Sheet("包干", [
        ["网格编码", "身份证号", "姓名", "包干角色", "起始日期", "是否第一责任人", "备注"],
        [world.village_a.code, helper.id_number, "王帮扶", "包村干部", dt.date(2025, 1, 1), "是", ""],
        [world.village_a.code, successor.id_number, "刘接任", "包村干部", "2026-01-01", "是", "换届"],
        [world.village_a.code, helper.id_number, "王帮扶", "帮扶责任人", "2025-03-01", "否", ""],
        [world.village_a.code, world.person_a.id_number, "别人", "网格员", "2025-03-01", "是", ""],  # name differs
        [world.village_a.code, factories.make_id_number(), "查无此人", "网格员", "2025-03-01", "", ""],
        [world.village_a.code, helper.id_number, "", "包村书记", "2025-03-01", "", ""],               # unknown role
    ])])

    job = run_import(actor=None, schema="territory.assignment", path=path)
    again = run_import(actor=None, schema="territory.assignment", path=path)

    assert (job.rows_created, job.rows_error) == (3, 3)
    assert (again.rows_created, again.rows_unchanged, again.rows_error) == (0, 3, 3)
    cadres = Assignment.objects.filter(node=world.village_a, role=ResponsibilityRole.VILLAGE_CADRE).order_by("valid_from")
    assert [(a.person, a.valid_from, a.valid_to) for a in cadres] == [
        (helper, dt.date(2025, 1, 1), dt.date(2026, 1, 1)),
        (successor, dt.date(2026, 1, 1), None),
    ]
    assert Assignment.objects.get(role=ResponsibilityRole.HOUSEHOLD_HELPER).is_primary is False
    errors = reasons(job)
    assert errors[5][0] == "姓名"
    assert "请先导入人员" in errors[6][1]
    assert "未知的包干角色" in errors[7][1]


@pytest.mark.django_db
def test_assignment_outside_scope_is_an_error(world, town_a_user, tmp_path):
    path = write_csv(tmp_path / "a.csv", [
        ["网格编码", "身份证号", "包干角色", "起始日期"],
        [world.village_a.code, world.person_a.id_number, "包村干部", "2025-01-01"],
        [world.village_b.code, world.person_b.id_number, "包村干部", "2025-01-01"],
    ])

    job = run_import(actor=town_a_user, schema="territory.assignment", path=path)

    assert (job.rows_created, job.rows_error) == (1, 1)
    assert not Assignment.objects.filter(node=world.village_b).exists()
    assert reasons(job)[3][1].startswith("不在您的数据范围内")


# -- GeoJSON --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_geojson_sets_geometry_by_code(world, tmp_path):
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    path = write_geojson(tmp_path / "grid.geojson", [
        {"type": "Feature", "properties": {"code": world.village_a.code}, "geometry": square(115.98, 36.45)},
        {"type": "Feature", "properties": {"code": world.village_b.code, "名称": "前寨村"}, "geometry": square(116.0, 36.5)},
        {"type": "Feature", "properties": {"code": "404"}, "geometry": square(116.0, 36.5)},
        {"type": "Feature", "properties": {"code": world.town_a.code}, "geometry": bowtie},
        {"type": "Feature", "properties": {"code": world.town_b.code}, "geometry": None},
    ])

    job = run_import(actor=None, schema="territory.geojson", path=path)
    again = run_import(actor=None, schema="territory.geojson", path=path)

    assert (job.rows_total, job.rows_updated, job.rows_error) == (5, 2, 3)
    assert (again.rows_updated, again.rows_unchanged) == (0, 2)
    village = Node.objects.get(pk=world.village_a.pk)
    assert village.geometry == square(115.98, 36.45)
    assert (round(village.min_lon, 2), round(village.max_lat, 2)) == (115.98, 36.46)
    errors = reasons(job)
    assert "不存在" in errors[3][1]
    assert "多边形" in errors[4][1]
    assert errors[5][1].startswith("必填项为空")
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(world.village_a.pk)).exists()


@pytest.mark.django_db
def test_geojson_properties_may_name_the_code_in_chinese(world, tmp_path):
    path = write_geojson(tmp_path / "g.json", [
        {"type": "Feature", "properties": {"编码": world.village_b.code}, "geometry": {"type": "Point", "coordinates": [116.0, 36.5]}},
    ])
    job = run_import(actor=None, schema="territory.geojson", path=path)
    assert (job.rows_updated, job.rows_error) == (1, 0)
    assert Node.objects.get(pk=world.village_b.pk).geometry["type"] == "Point"


@pytest.mark.django_db
def test_geojson_schema_refuses_a_spreadsheet(world, tmp_path):
    from civicgrid.core.errors import ApplicationError

    path = write_csv(tmp_path / "g.csv", [["code", "geometry"], ["1", "{}"]])
    with pytest.raises(ApplicationError, match="GeoJSON"):
        run_import(actor=None, schema="territory.geojson", path=path)
