"""Import schema of the person registry (人员库): `people.person`.

One row per resident. The ID number is the natural key; sex and birth date come from it (declared
values are checked against it); the node is given by its code (网格编码), or by a node name that is
unique in the tree. An existing person's name, phone, address and node are updated (blank phone or
address cells keep what is registered). Rows for people registered outside the importer's data scope,
and for soft-deleted people, are errors. The batch is sorted and encoded on the reading thread
(`stage`); writes are one set-based statement per batch. PostgreSQL first tries to COPY the batch
straight into the table (all new people, as in a first import); a unique violation undoes that at a
savepoint and the batch is COPied into a temporary table for INSERT … ON CONFLICT … WHERE (changed
and may be changed) RETURNING (xmax = 0). SQLite runs the same upsert over the batch as one JSON
array. The upsert itself leaves soft-deleted and out-of-scope people alone; only when it created or
updated fewer rows than the batch holds (a re-import, or such people in the file) does a second
query find which rows those were, to report them. A first import never pays for that lookup.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.accounts.roles import Action
from civicgrid.ingest import parsers
from civicgrid.ingest.registry import (
    OUT_OF_SCOPE,
    Batch,
    Column,
    ImportContext,
    ImportSchema,
    Row,
    RowError,
    WriteResult,
    register,
)
from civicgrid.people.models import Person
from civicgrid.people.services import normalise_phone

NODES = "people.nodes"
NODE_NAMES = "people.node_names"
COPY_REFUSED = "people.copy_refused"  # a batch's COPY met a registered ID number


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEX_OF_DIGIT = {str(digit): "M" if digit % 2 else "F" for digit in range(10)}  # the 17th digit


def parse_phone(value: Any) -> str:
    """A mobile or landline number (a numeric cell is fine: 11 digits survive Excel)."""
    if type(value) is str and _MOBILE.match(value):
        return value  # the common case, exactly what normalise_phone would return
    return normalise_phone(parsers.as_text(value))


COLUMNS = (
    Column(
        "id_number",
        ("身份证号", "公民身份号码", "身份证号码", "证件号码", "身份证", "公民身份证号码", "身份证件号码",
         "成员身份证号", "户主身份证号", "居民身份证号"),
        required=True, parser=parsers.id_number, sensitive="id_number",
    ),
    Column("name", ("姓名", "成员姓名", "人员姓名", "户主姓名", "居民姓名"), required=True, parser=parsers.text(50)),
    Column(
        "sex", ("性别",),
        parser=parsers.choice({"男": "M", "女": "F", "M": "M", "F": "F", "male": "M", "female": "F"}, what=gettext_lazy("性别")),
    ),
    Column("birth_date", ("出生日期", "出生年月日", "生日"), parser=parsers.date),
    Column(
        "phone", ("联系电话", "手机号", "手机号码", "电话", "手机", "联系方式", "电话号码"),
        parser=parse_phone, sensitive="phone",
    ),
    Column(
        "node_code",
        ("网格编码", "所属网格编码", "所属网格", "所属村", "村(社区)", "所属村(社区)", "村(社区)编码",
         "所属村编码", "村编码", "社区编码", "网格", "村"),
        required=True, parser=parsers.code(32),
    ),
    Column("address", ("详细地址", "家庭住址", "住址", "现住址", "地址"), parser=parsers.text(200)),
)


def prepare(context: ImportContext) -> None:
    """Load every active node once: code -> (id, path), and name -> [(id, path)] for name lookups."""
    from civicgrid.territory.models import Node

    nodes: dict[str, tuple[int, str]] = {}
    names: dict[str, list[tuple[int, str]]] = {}
    for pk, code, name, path in Node.objects.filter(is_active=True).values_list("id", "code", "name", "path"):
        nodes[code] = (pk, path)
        names.setdefault(name, []).append((pk, path))
    context.cache[NODES] = nodes
    context.cache[NODE_NAMES] = names


def resolve_node(text: str, context: ImportContext) -> tuple[int, str]:
    """(id, path) of the node a cell names, by code or by a unique name; RowError otherwise."""
    node = context.cache[NODES].get(text)
    if node is not None:
        return node  # type: ignore[no-any-return]
    named = context.cache[NODE_NAMES].get(text)
    if named is not None and len(named) == 1:
        return named[0]  # type: ignore[no-any-return]
    if named:
        raise RowError(_("名称“%(name)s”对应多个网格，请填写网格编码") % {"name": text}, column="node_code")
    raise RowError(_("网格编码“%(code)s”不存在或已停用") % {"code": text}, column="node_code")


def validate(values: dict[str, Any], context: ImportContext) -> None:
    """Derive sex and birth date from the ID number, check declared ones, resolve the node in scope."""
    id_number = values["id_number"]
    sex = _SEX_OF_DIGIT[id_number[16]]
    birth_date = parsers.id_birth_date(id_number)
    declared = values.get("sex")
    if declared and declared != sex:
        raise RowError(_("性别与身份证号不符"), column="sex")
    declared_birth = values.get("birth_date")
    if declared_birth and declared_birth != birth_date:
        raise RowError(_("出生日期与身份证号不符"), column="birth_date")
    node_id, path = resolve_node(values["node_code"], context)
    if not context.in_scope(path):
        raise RowError(OUT_OF_SCOPE, column="node_code")
    values["sex"] = sex
    values["birth_date"] = birth_date
    values["address_node_id"] = node_id
    values["scope_path"] = path


def _refuse_conflicts(rows: list[Row], context: ImportContext, result: WriteResult) -> int:
    """Report the batch's rows whose registered person is soft-deleted or lives outside the data scope
    (the upsert's guard left them untouched); return how many."""
    table = Person._meta.db_table
    ids = [row.values["id_number"] for row in rows]
    only_deleted = "" if context.scope_paths is not None else " AND deleted_at IS NOT NULL"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT id_number, deleted_at IS NOT NULL, scope_path FROM {table} "  # noqa: S608 - table name from the model
                f"WHERE id_number = ANY(%s){only_deleted}",
                [ids],
            )
        else:
            cursor.execute(
                f"SELECT id_number, deleted_at IS NOT NULL, scope_path FROM {table} "  # noqa: S608
                f"WHERE id_number IN (SELECT value FROM json_each(%s)){only_deleted}",
                [json.dumps(ids)],
            )
        found = cursor.fetchall()
    refused: dict[str, str] = {}
    for id_number, deleted, scope_path in found:
        if deleted:
            refused[id_number] = _("该人员已被删除，导入不会恢复，请联系管理员")
        elif not context.in_scope(scope_path):
            refused[id_number] = str(OUT_OF_SCOPE)
    if refused:
        for row in rows:
            reason = refused.get(row.values["id_number"])
            if reason is not None:
                result.error(row, "id_number", reason)
    return len(refused)


def _may_change(context: ImportContext, table: str, placeholder: str) -> tuple[str, list[str]]:
    """The upsert's guard on an existing row: not soft-deleted and inside the importer's data scope
    (a prefix test on the materialised path, as ImportContext.in_scope does)."""
    condition = f"{table}.deleted_at IS NULL"
    if context.scope_paths is None:
        return condition, []
    if not context.scope_paths:
        return f"{condition} AND 1 = 0", []
    prefixes = " OR ".join(
        f"substr({table}.scope_path, 1, {len(path)}) = {placeholder}" for path in context.scope_paths
    )
    return f"{condition} AND ({prefixes})", list(context.scope_paths)


_SET = (
    "name = excluded.name, "
    "phone = CASE WHEN excluded.phone <> '' THEN excluded.phone ELSE {t}.phone END, "
    "address = CASE WHEN excluded.address <> '' THEN excluded.address ELSE {t}.address END, "
    "address_node_id = excluded.address_node_id, scope_path = excluded.scope_path, updated_at = excluded.updated_at"
)
_CHANGED = (
    "{t}.name {ne} excluded.name "
    "OR (excluded.phone <> '' AND {t}.phone {ne} excluded.phone) "
    "OR (excluded.address <> '' AND {t}.address {ne} excluded.address) "
    "OR {t}.address_node_id {ne} excluded.address_node_id "
    "OR {t}.scope_path {ne} excluded.scope_path"
)
_COLUMNS = "id_number, name, sex, birth_date, phone, address_node_id, scope_path, address"
_STAMPS = "deleted_reason, created_at, updated_at"


def _by_id_number(values: dict[str, Any]) -> str:
    return values["id_number"]  # type: ignore[no-any-return]


# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")


def stage(rows: list[Row], context: ImportContext) -> bytes | str:
    """On the reading thread: the batch in key order (so the unique index is filled page by page),
    encoded for the writer's one statement. PostgreSQL: COPY text rows. SQLite: one JSON array that
    json_each unpacks inside a single statement (executemany would take the GIL back after every row's
    step, while the reading thread validates the next batch)."""
    ordered = sorted((row.values for row in rows), key=_by_id_number)
    if connection.vendor == "postgresql":
        now = context.now.isoformat()
        stamps = f"\t\t{now}\t{now}\n"  # deleted_reason, created_at, updated_at
        # Only the free-text fields can hold what COPY escapes, and rarely do: one search of them all
        # decides whether this batch needs the per-value translate (it halves the cost when not).
        if _COPY_SPECIAL.search("".join([v["name"] + (v.get("address") or "") for v in ordered])):
            escapes = _COPY_ESCAPES
            return "".join(
                f"{v['id_number']}\t{v['name'].translate(escapes)}\t{v['sex']}\t{v['birth_date']}\t"
                f"{v.get('phone') or ''}\t{v['address_node_id']}\t{v['scope_path']}\t"
                f"{(v.get('address') or '').translate(escapes)}{stamps}"
                for v in ordered
            ).encode()
        return "".join(
            f"{v['id_number']}\t{v['name']}\t{v['sex']}\t{v['birth_date']}\t"
            f"{v.get('phone') or ''}\t{v['address_node_id']}\t{v['scope_path']}\t"
            f"{v.get('address') or ''}{stamps}"
            for v in ordered
        ).encode()
    return json.dumps(
        [
            (v["id_number"], v["name"], v["sex"], v["birth_date"].isoformat(), v.get("phone") or "",
             v["address_node_id"], v["scope_path"], v.get("address") or "")
            for v in ordered
        ],
        ensure_ascii=False,
    )


def _copy_new_postgresql(data: bytes) -> bool:
    """COPY the batch straight into the table, which a first import of new people can: one pass instead
    of COPY into a staging table and INSERT … SELECT from it. If any of its ID numbers is registered
    already, the unique constraint stops the COPY, the savepoint undoes it and this returns False."""
    from psycopg.errors import UniqueViolation

    table = Person._meta.db_table
    try:
        with (
            transaction.atomic(),
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({_COLUMNS}, {_STAMPS}) FROM STDIN") as copy,
        ):
            copy.write(data)
    except UniqueViolation:
        return False
    return True


def _upsert_postgresql(data: bytes, context: ImportContext) -> tuple[int, int]:
    table = Person._meta.db_table
    guard, guard_params = _may_change(context, table, "%s")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS ingest_person_stage (id_number varchar(18), name varchar(50), "
            "sex varchar(1), birth_date date, phone varchar(20), address_node_id bigint, scope_path varchar(255), "
            "address varchar(200), deleted_reason varchar(200), created_at timestamptz, updated_at timestamptz)"
        )
        cursor.execute("TRUNCATE ingest_person_stage")
        with cursor.cursor.copy(f"COPY ingest_person_stage ({_COLUMNS}, {_STAMPS}) FROM STDIN") as copy:
            copy.write(data)
        cursor.execute(
            f"WITH written AS (INSERT INTO {table} ({_COLUMNS}, {_STAMPS}) "  # noqa: S608
            f"SELECT {_COLUMNS}, {_STAMPS} FROM ingest_person_stage "
            f"ON CONFLICT (id_number) DO UPDATE SET {_SET.format(t=table)} "
            f"WHERE ({_CHANGED.format(t=table, ne='IS DISTINCT FROM')}) AND {guard} "
            "RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM written",
            guard_params,
        )
        created, updated = cursor.fetchone()
    return int(created), int(updated)


_SQLITE_ROW = ", ".join(f"json_extract(value, '$[{index}]')" for index in range(8))


def _upsert_sqlite(payload: str, context: ImportContext) -> tuple[int, int]:
    table = Person._meta.db_table
    connection.ensure_connection()
    raw = connection.connection
    now = connection.ops.adapt_datetimefield_value(context.now)
    guard, guard_params = _may_change(context, table, "?")
    sql = (
        f"INSERT INTO {table} ({_COLUMNS}, deleted_reason, created_at, updated_at) "  # noqa: S608
        f"SELECT {_SQLITE_ROW}, '', ?, ? FROM json_each(?) WHERE true "  # WHERE: see SQLite's upsert parsing note
        f"ON CONFLICT (id_number) DO UPDATE SET {_SET.format(t=table)} "
        f"WHERE ({_CHANGED.format(t=table, ne='IS NOT')}) AND {guard}"
    )
    before_id = raw.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]  # noqa: S608
    before_changes = raw.total_changes
    raw.execute(sql, (now, now, payload, *guard_params))
    written = raw.total_changes - before_changes
    # New rows get ids above the previous maximum (SQLite's rowid rule), so this counts inserts.
    created = raw.execute(f"SELECT COUNT(*) FROM {table} WHERE id > ?", (before_id,)).fetchone()[0]  # noqa: S608
    return int(created), int(written - created)


def write(rows: Batch, context: ImportContext) -> WriteResult:
    """Upsert one batch of people by ID number, counting created, updated and unchanged rows."""
    result = WriteResult()
    staged = rows.staged  # the bytes or text `stage` made of this batch on the reading thread
    if connection.vendor == "postgresql":
        # After one batch met registered people (a re-import, most likely), the rest go straight to
        # the upsert instead of trying the COPY first.
        if not context.cache.get(COPY_REFUSED) and _copy_new_postgresql(staged):
            created, updated = len(rows), 0
        else:
            context.cache[COPY_REFUSED] = True
            created, updated = _upsert_postgresql(staged, context)
    else:
        created, updated = _upsert_sqlite(staged, context)
    refused = _refuse_conflicts(rows, context, result) if created + updated < len(rows) else 0
    result.created = created
    result.updated = updated
    result.unchanged = len(rows) - created - updated - refused
    return result


PERSON_SCHEMA = register(
    ImportSchema(
        name="people.person",
        label=gettext_lazy("人员库"),
        columns=COLUMNS,
        key=("id_number",),
        validate=validate,
        prepare=prepare,
        writer=write,
        stage=stage,
        required_action=Action.MANAGE_PEOPLE,
        batch_size=20_000,
        description=gettext_lazy("每行一人：身份证号、姓名、网格编码必填；性别、出生日期须与身份证号一致；联系电话、详细地址可选。"),
    )
)
