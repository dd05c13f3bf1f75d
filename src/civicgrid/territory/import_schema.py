"""Import schemas of the territory: the node tree (`territory.node`), responsibility assignments
(`territory.assignment`) and node geometry from GeoJSON (`territory.geojson`).

Trees and assignments are small next to the person registry, so their writers go through the
territory services one row at a time (each row in a savepoint): paths, depths, the one-current-
primary rule and per-row audit events stay exactly as the services keep them.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.accounts.roles import Action
from civicgrid.core.errors import ApplicationError
from civicgrid.ingest import parsers
from civicgrid.ingest.registry import (
    FORMAT_GEOJSON,
    OUT_OF_SCOPE,
    Column,
    ImportContext,
    ImportSchema,
    Row,
    RowError,
    WriteResult,
    register,
)
from civicgrid.territory.geometry import parse_geometry
from civicgrid.territory.models import Assignment, Node, NodeKind, ResponsibilityRole
from civicgrid.territory.services import assignment_start, node_create, node_update

NODES = "territory.nodes"
QUERY_CHUNK = 500  # stays under SQLite's bound-parameter limit

K = NodeKind
KIND_LABELS: dict[str, str] = {
    "市": K.CITY, "地级市": K.CITY,
    "区县": K.DISTRICT, "区": K.DISTRICT, "县": K.DISTRICT, "县区": K.DISTRICT, "县(区)": K.DISTRICT,
    "开发区": K.DISTRICT, "高新区": K.DISTRICT, "区县/开发区": K.DISTRICT,
    "镇": K.TOWN, "乡": K.TOWN, "乡镇": K.TOWN, "街道": K.TOWN, "办事处": K.TOWN, "街道办事处": K.TOWN,
    "镇/街道": K.TOWN, "乡镇/街道": K.TOWN, "乡镇(街道)": K.TOWN, "镇(街道)": K.TOWN,
    "村": K.VILLAGE, "社区": K.VILLAGE, "行政村": K.VILLAGE, "居委会": K.VILLAGE, "村委会": K.VILLAGE,
    "村/社区": K.VILLAGE, "村(社区)": K.VILLAGE,
    "网格": K.GRID,
    "大队": K.BRIGADE, "交警大队": K.BRIGADE, "大队辖区": K.BRIGADE, "交警大队辖区": K.BRIGADE,
    "片": K.ZONE, "片区": K.ZONE,
    "线": K.LINE, "路线": K.LINE, "线路": K.LINE,
    "点段": K.POST, "点": K.POST, "路段": K.POST, "点位": K.POST,
    **{kind.value: kind.value for kind in NodeKind},
}

R = ResponsibilityRole
ROLE_LABELS: dict[str, str] = {
    "包镇领导": R.TOWN_LEADER, "包镇": R.TOWN_LEADER,
    "包村干部": R.VILLAGE_CADRE, "包村": R.VILLAGE_CADRE, "驻村干部": R.VILLAGE_CADRE,
    "网格员": R.GRID_WORKER, "专职网格员": R.GRID_WORKER,
    "帮扶责任人": R.HOUSEHOLD_HELPER, "帮扶责任人(包户)": R.HOUSEHOLD_HELPER, "包户": R.HOUSEHOLD_HELPER,
    "包户干部": R.HOUSEHOLD_HELPER,
    "大队长": R.BRIGADE_HEAD, "大队领导": R.BRIGADE_HEAD,
    "包片领导": R.ZONE_LEADER, "包片": R.ZONE_LEADER,
    "包线中队长": R.LINE_LEADER, "包线": R.LINE_LEADER, "中队长": R.LINE_LEADER,
    "包点段民警": R.POST_OFFICER, "包点段": R.POST_OFFICER, "包点民警": R.POST_OFFICER, "民警": R.POST_OFFICER,
    **{role.value: role.value for role in ResponsibilityRole},
}


def _chunks(items: list[Any]) -> list[list[Any]]:
    return [items[start:start + QUERY_CHUNK] for start in range(0, len(items), QUERY_CHUNK)]


def _nodes_by_code(codes: set[str]) -> dict[str, Node]:
    found: dict[str, Node] = {}
    for chunk in _chunks(sorted(codes)):
        for node in Node.objects.filter(code__in=chunk).select_related("parent"):
            found[node.code] = node
    return found


def prepare_nodes(context: ImportContext) -> None:
    """Active nodes once per import: code -> (id, path)."""
    context.cache[NODES] = {
        code: (pk, path)
        for pk, code, path in Node.objects.filter(is_active=True).values_list("id", "code", "path")
    }


def resolve_in_scope(values: dict[str, Any], context: ImportContext, field: str = "node_code") -> None:
    """Put the node id of a code cell into values, refusing unknown codes and nodes out of scope."""
    node = context.cache[NODES].get(values[field])
    if node is None:
        raise RowError(_("网格编码“%(code)s”不存在或已停用") % {"code": values[field]}, column=field)
    if not context.in_scope(node[1]):
        raise RowError(OUT_OF_SCOPE, column=field)
    values["node_id"] = node[0]


# -- territory.node -------------------------------------------------------------------------------


def validate_node(values: dict[str, Any], context: ImportContext) -> None:
    """A node cannot be its own parent."""
    if values.get("parent_code") and values["parent_code"] == values["code"]:
        raise RowError(_("上级编码不能是节点自身"), column="parent_code")


def _update_existing(row: Row, node: Node, context: ImportContext, result: WriteResult) -> None:
    values = row.values
    if not context.in_scope(node.path):
        result.error(row, "code", OUT_OF_SCOPE)
        return
    if values["kind"] != node.kind:
        result.error(
            row, "kind", _("节点已存在且类型为“%(kind)s”，导入不改变类型") % {"kind": node.get_kind_display()}
        )
        return
    registered_parent = node.parent.code if node.parent is not None else None
    if (values.get("parent_code") or None) != registered_parent:
        result.error(
            row, "parent_code",
            _("节点已存在，上级为“%(parent)s”，导入不移动节点") % {"parent": registered_parent or _("无")},
        )
        return
    if values["name"] == node.name:
        result.unchanged += 1
        return
    try:
        with transaction.atomic():
            node_update(actor=context.actor, node=node, name=values["name"])
    except ApplicationError as exc:
        result.error(row, "name", exc.message)
    else:
        result.updated += 1


def write_nodes(rows: list[Row], context: ImportContext) -> WriteResult:
    """Create or rename nodes; parents are resolved within the file (any row order) or the tree."""
    result = WriteResult()
    codes = {row.values["code"] for row in rows} | {row.values["parent_code"] for row in rows if row.values.get("parent_code")}
    existing = _nodes_by_code(codes)
    pending: list[Row] = []
    for row in rows:
        node = existing.get(row.values["code"])
        if node is None:
            pending.append(row)
        else:
            _update_existing(row, node, context, result)
    waiting = {row.values["code"] for row in pending}
    failed: set[str] = set()
    created: dict[str, Node] = {}
    while pending:
        postponed: list[Row] = []
        for row in pending:
            values = row.values
            parent_code = values.get("parent_code")
            parent = None
            if parent_code:
                parent = existing.get(parent_code) or created.get(parent_code)
                if parent is None:
                    if parent_code in failed:
                        result.error(
                            row, "parent_code", _("上级“%(code)s”所在行有错误，未导入") % {"code": parent_code}
                        )
                        failed.add(values["code"])
                    elif parent_code in waiting:
                        postponed.append(row)
                    else:
                        result.error(row, "parent_code", _("上级编码“%(code)s”不存在") % {"code": parent_code})
                        failed.add(values["code"])
                    continue
                if not context.in_scope(parent.path):
                    result.error(row, "parent_code", OUT_OF_SCOPE)
                    failed.add(values["code"])
                    continue
            elif context.scope_paths is not None:
                result.error(row, "parent_code", _("只有系统管理员可在控制台导入根节点，请填写上级编码"))
                failed.add(values["code"])
                continue
            try:
                with transaction.atomic():
                    node = node_create(
                        actor=context.actor, parent=parent, kind=values["kind"], code=values["code"],
                        name=values["name"],
                    )
            except ApplicationError as exc:
                result.error(row, "kind", exc.message)
                failed.add(values["code"])
            else:
                created[node.code] = node
                result.created += 1
        if len(postponed) == len(pending):
            for row in postponed:
                result.error(row, "parent_code", _("上级关系成环，无法确定层级"))
            break
        pending = postponed
    return result


NODE_SCHEMA = register(
    ImportSchema(
        name="territory.node",
        label=gettext_lazy("网格节点"),
        columns=(
            Column("code", ("编码", "节点编码", "网格编码", "区划代码", "代码"), required=True, parser=parsers.code(32)),
            Column("name", ("名称", "节点名称", "网格名称"), required=True, parser=parsers.text(100)),
            Column("kind", ("类型", "节点类型", "层级"), required=True, parser=parsers.choice(KIND_LABELS, what=gettext_lazy("类型"))),
            Column("parent_code", ("上级编码", "上级节点编码", "上级网格编码", "父级编码", "上级代码"), parser=parsers.code(32)),
        ),
        key=("code",),
        validate=validate_node,
        writer=write_nodes,
        required_action=Action.MANAGE_TERRITORY,
        batch_size=0,  # rows refer to each other (parents in any order): one batch
        description=gettext_lazy("每行一个节点：编码、名称、类型（镇/街道、村/社区、网格、片、线、点段…）必填；上级编码可指向文件中的其他行。"),
    )
)


# -- territory.assignment -------------------------------------------------------------------------


def validate_assignment(values: dict[str, Any], context: ImportContext) -> None:
    """The node must exist and lie in scope."""
    resolve_in_scope(values, context)
    if values.get("is_primary") is None:
        values["is_primary"] = True


def write_assignments(rows: list[Row], context: ImportContext) -> WriteResult:
    """Start each assignment through the service, in file order (a new primary ends the current one)."""
    result = WriteResult()
    person_model = Assignment._meta.get_field("person").related_model
    people: dict[str, Any] = {}
    ids = sorted({row.values["id_number"] for row in rows})
    for chunk in _chunks(ids):
        found: Any = person_model._default_manager.filter(id_number__in=chunk, deleted_at__isnull=True)  # type: ignore[union-attr]
        for person in found:
            people[person.id_number] = person
    nodes = Node.objects.in_bulk({row.values["node_id"] for row in rows})
    for row in rows:
        values = row.values
        person = people.get(values["id_number"])
        if person is None:
            result.error(row, "id_number", _("人员库中没有该身份证号，请先导入人员"))
            continue
        if values.get("name") and values["name"] != person.name:
            result.error(row, "name", _("姓名与人员库中该身份证号的姓名不一致"))
            continue
        node = nodes[values["node_id"]]
        same = Assignment.objects.filter(node=node, role=values["role"], person=person)
        exact = same.filter(valid_from=values["valid_from"]).first()
        if exact is not None:
            if exact.is_primary != values["is_primary"]:
                result.error(row, "is_primary", _("已有同一起始日期的包干记录，第一责任人标记不同"))
            else:
                result.unchanged += 1
            continue
        if same.filter(is_primary=values["is_primary"], valid_to__isnull=True).exists():
            result.unchanged += 1  # already holding the post: assignment_start would change nothing
            continue
        try:
            with transaction.atomic():
                assignment_start(
                    actor=context.actor, person=person, node=node, role=values["role"],
                    valid_from=values["valid_from"], is_primary=values["is_primary"], note=values.get("note") or "",
                )
        except ApplicationError as exc:
            result.error(row, "valid_from", exc.message)
        else:
            result.created += 1
    return result


ASSIGNMENT_SCHEMA = register(
    ImportSchema(
        name="territory.assignment",
        label=gettext_lazy("包干责任"),
        columns=(
            Column("node_code", ("网格编码", "节点编码", "编码", "包干网格编码", "责任区编码"), required=True, parser=parsers.code(32)),
            Column(
                "id_number", ("身份证号", "责任人身份证号", "公民身份号码", "身份证号码", "证件号码"),
                required=True, parser=parsers.id_number, sensitive="id_number",
            ),
            Column("name", ("姓名", "责任人姓名", "责任人"), parser=parsers.text(50)),
            Column("role", ("包干角色", "角色", "责任类型", "职责"), required=True, parser=parsers.choice(ROLE_LABELS, what=gettext_lazy("包干角色"))),
            Column("valid_from", ("起始日期", "开始日期", "任职日期", "起始时间"), required=True, parser=parsers.date),
            Column("is_primary", ("是否第一责任人", "第一责任人", "是否主要责任人"), parser=parsers.boolean),
            Column("note", ("备注",), parser=parsers.text(200)),
        ),
        key=("node_code", "role", "id_number", "valid_from"),
        validate=validate_assignment,
        prepare=prepare_nodes,
        writer=write_assignments,
        required_action=Action.MANAGE_ASSIGNMENTS,
        batch_size=2_000,
        description=gettext_lazy("每行一条包干责任：网格编码、身份证号（须已在人员库）、包干角色、起始日期必填。"),
    )
)


# -- territory.geojson ----------------------------------------------------------------------------


def parse_geojson_geometry(value: Any) -> dict[str, Any]:
    """A valid GeoJSON geometry (point, line or polygon within longitude/latitude ranges)."""
    if not isinstance(value, dict):
        raise ValueError(_("要素没有几何对象"))
    try:
        parse_geometry(value)
    except ApplicationError as exc:
        raise ValueError(exc.message) from exc
    return value


def validate_geometry_row(values: dict[str, Any], context: ImportContext) -> None:
    """The node must exist and lie in scope."""
    resolve_in_scope(values, context, field="code")


def write_geometries(rows: list[Row], context: ImportContext) -> WriteResult:
    """Replace node geometries through node_update (bounding boxes and audit kept right)."""
    result = WriteResult()
    nodes = Node.objects.in_bulk({row.values["node_id"] for row in rows})
    for row in rows:
        node = nodes[row.values["node_id"]]
        geometry = row.values["geometry"]
        if node.geometry == geometry:
            result.unchanged += 1
            continue
        try:
            with transaction.atomic():
                nodes[node.pk] = node_update(actor=context.actor, node=node, geometry=geometry)
        except ApplicationError as exc:
            result.error(row, "geometry", exc.message)
        else:
            result.updated += 1
    return result


GEOJSON_SCHEMA = register(
    ImportSchema(
        name="territory.geojson",
        label=gettext_lazy("网格空间范围（GeoJSON）"),
        columns=(
            Column("code", ("code", "编码", "网格编码", "节点编码"), required=True, parser=parsers.code(32)),
            Column("geometry", ("geometry",), required=True, parser=parse_geojson_geometry),
        ),
        key=("code",),
        validate=validate_geometry_row,
        prepare=prepare_nodes,
        writer=write_geometries,
        required_action=Action.MANAGE_TERRITORY,
        batch_size=500,
        file_format=FORMAT_GEOJSON,
        description=gettext_lazy("GeoJSON FeatureCollection：每个要素的 properties.code（或“编码”）为网格编码，geometry 为其空间范围。"),
    )
)
