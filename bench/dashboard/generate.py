"""A seeded county for the dashboard benchmark, written straight into the tables.

    generate(connection, Spec(households=1_000_000, cases=5_000_000, seed=20261129))

What it writes (all through the Django connection of the benchmark database, bypassing services):

- the territory tree: 1 district → `towns` towns → villages → grids, and a policing branch under the
  district (brigade → zones → lines → posts). Ids are chosen up front, so `path` (`/1/4/17/`) and
  `depth` are written exactly as `territory.services.node_create` computes them (its own id appended
  to the parent's path; depth = parent's + 1); administrative nodes get rectangle geometries and
  their bounding boxes, as a drawn map would.
- `households` people.Person rows (the household-equivalent registry), valid GB 11643 ID numbers from
  `civicgrid.core.idnumber.make`, spread unevenly over the grids;
- primary responsibility assignments for every node kind that needs one (`REQUIRED_ROLE_BY_KIND`),
  with a few deliberate gaps and holder changes, so 包干覆盖率 has something to count;
- one published standard and a monthly completed inspection of most grids (检查合格率);
- `cases` cases.Case rows opened over the past 12 months on grids and posts, with a realistic status
  mix: closed on time, closed late, overdue and still open, not yet due, cancelled; every NOT NULL
  column filled (scope_path = the node's path, version counting the transitions).

Big tables (people, cases) are loaded with `executemany` on SQLite and `COPY` (psycopg 3
`cursor.copy`) on PostgreSQL, their secondary indexes (and, on PostgreSQL, foreign keys) dropped for
the load and re-created from their own definitions afterwards, so the schema is the migrated one.
Everything random comes from one seed: the same spec gives the same county on both databases.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

LOCAL = ZoneInfo("Asia/Shanghai")
CHUNK = 200_000
REGION_CODES = ("520381", "520302", "520303", "520321", "520322")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅云飞鹏辉建国志文斌林峰宇浩凯"
CATEGORIES = ("道路交通", "市容环境", "安全隐患", "基础设施", "社会治安", "矛盾纠纷", "民生服务", "违章建筑")
SOURCES = (
    ("inspection", 0.30), ("observation", 0.25), ("citizen_report", 0.20), ("manual", 0.12),
    ("violation", 0.08), ("reconciliation", 0.03), ("coverage_gap", 0.02),
)
SEVERITIES = (("low", 0.45), ("medium", 0.35), ("high", 0.15), ("critical", 0.05))
STATUS_CODES = ("open", "assigned", "in_progress", "submitted", "closed", "cancelled")
OPEN, ASSIGNED, IN_PROGRESS, SUBMITTED, CLOSED, CANCELLED = range(6)
CASE_COLUMNS = (
    "node_id", "scope_path", "title", "category", "source", "source_ref", "description", "severity", "deadline",
    "status", "responsible_person_id", "needs_triage", "triage_reason", "escalation_level", "escalated_at",
    "escalation_exhausted", "opened_at", "started_at", "submitted_at", "closed_at", "closed_on_time",
    "cancelled_reason", "rejection_count", "version", "updated_at",
)
PERSON_COLUMNS = (
    "id", "id_number", "name", "sex", "birth_date", "phone", "address_node_id", "scope_path", "address",
    "deleted_reason", "created_at", "updated_at",
)
REQUIRED_ROLE = {
    "town": "town_leader", "village": "village_cadre", "grid": "grid_worker", "brigade": "brigade_head",
    "zone": "zone_leader", "line": "line_leader", "post": "post_officer",
}


@dataclass(frozen=True)
class Spec:
    households: int = 1_000_000
    cases: int = 5_000_000
    seed: int = 20261129
    towns: int = 20
    villages_per_town: int = 30
    grids_per_village: int = 5
    zones: int = 8
    lines_per_zone: int = 5
    posts_per_line: int = 10
    post_case_share: float = 0.2  # share of cases found on policing posts (the rest on grids)


@dataclass
class Node:
    pk: int
    parent: int | None
    kind: str
    code: str
    name: str
    path: str
    depth: int
    box: tuple[float, float, float, float] | None = None  # min_lon, min_lat, max_lon, max_lat


@dataclass
class County:
    nodes: list[Node] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Node]:
        return [node for node in self.nodes if node.kind == kind]


# --- the tree -----------------------------------------------------------------------------------


def build_tree(spec: Spec, first_id: int = 1) -> County:
    """The node list with ids, paths and depths fixed up front (parent before child)."""
    county = County()
    next_id = first_id

    def add(parent: Node | None, kind: str, code: str, name: str,
            box: tuple[float, float, float, float] | None = None) -> Node:
        nonlocal next_id
        pk = next_id
        next_id += 1
        # As node_create: the parent's path (or "/") with the new id appended; depth = parent's + 1.
        node = Node(pk, parent.pk if parent else None, kind, code, name,
                    f"{parent.path if parent else '/'}{pk}/", parent.depth + 1 if parent else 0, box)
        county.nodes.append(node)
        return node

    district = add(None, "district", "BD", "基准县", (106.0, 26.0, 107.0, 27.0))
    columns = 5
    rows = -(-spec.towns // columns)
    for t in range(spec.towns):
        x0 = 106.0 + (t % columns) / columns
        y0 = 26.0 + (t // columns) / rows
        town_box = (x0, y0, x0 + 1 / columns, y0 + 1 / rows)
        town = add(district, "town", f"BD-T{t + 1:02d}", f"第{t + 1}镇", town_box)
        v_columns = 6
        v_rows = -(-spec.villages_per_town // v_columns)
        w = (town_box[2] - town_box[0]) / v_columns
        h = (town_box[3] - town_box[1]) / v_rows
        for v in range(spec.villages_per_town):
            vx = town_box[0] + (v % v_columns) * w
            vy = town_box[1] + (v // v_columns) * h
            village = add(town, "village", f"{town.code}-V{v + 1:02d}", f"{town.name}第{v + 1}村",
                          (vx, vy, vx + w, vy + h))
            gw = w / spec.grids_per_village
            for g in range(spec.grids_per_village):
                add(village, "grid", f"{village.code}-G{g + 1}", f"{village.name}第{g + 1}网格",
                    (vx + g * gw, vy, vx + (g + 1) * gw, vy + h))
    brigade = add(district, "brigade", "BD-B", "交警大队辖区")
    for z in range(spec.zones):
        zone = add(brigade, "zone", f"BD-B-Z{z + 1}", f"第{z + 1}片")
        for line_number in range(spec.lines_per_zone):
            line = add(zone, "line", f"{zone.code}-L{line_number + 1}", f"{zone.name}第{line_number + 1}线")
            for p in range(spec.posts_per_line):
                add(line, "post", f"{line.code}-P{p + 1:02d}", f"{line.name}第{p + 1}点段")
    return county


def _geometry(box: tuple[float, float, float, float] | None) -> str | None:
    if box is None:
        return None
    x0, y0, x1, y1 = (round(value, 6) for value in box)
    return json.dumps({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]})


# --- loading helpers ----------------------------------------------------------------------------


def _executemany(connection: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A small insert through Django's cursor (both databases)."""
    from django.db import transaction

    quoted = ", ".join(connection.ops.quote_name(name) for name in columns)
    marks = ", ".join(["%s"] * len(columns))
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)  # noqa: S608 - constants


def _reset_sequence(connection: Any, table: str) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            )



def _case_mix(cursor: Any, today: Any) -> dict[str, int]:
    """How the generated cases split by state, as of `today` (the table's footer line)."""
    cursor.execute(
        "SELECT SUM(CASE WHEN status = 'closed' AND closed_on_time THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'closed' AND NOT closed_on_time THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status IN ('open', 'assigned', 'in_progress') AND deadline < %s THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'submitted' AND deadline < %s THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status NOT IN ('closed', 'cancelled') AND deadline >= %s THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) FROM cases_case",
        [today, today, today],
    )
    names = ("closed_on_time", "closed_late", "overdue", "submitted_past_deadline", "open_not_yet_due", "cancelled")
    return dict(zip(names, (int(value or 0) for value in cursor.fetchone()), strict=True))

def bulk_load(connection: Any, table: str, columns: Sequence[str], chunks: Iterable[list[tuple[Any, ...]]],
              log: Callable[[str], None]) -> dict[str, float]:
    """Load rows fast: secondary indexes (PostgreSQL: and foreign keys) dropped, executemany (SQLite) or
    COPY (PostgreSQL), then the dropped definitions re-created as they were. Returns timings."""
    timings: dict[str, float] = {}
    connection.ensure_connection()
    raw = connection.connection
    started = time.perf_counter()
    rows = 0
    if connection.vendor == "sqlite":
        indexes = raw.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL", (table,)
        ).fetchall()
        raw.execute("PRAGMA foreign_keys = OFF")
        raw.execute("PRAGMA cache_size = -1048576")
        for name, _sql in indexes:
            raw.execute(f'DROP INDEX "{name}"')
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"  # noqa: S608
        raw.execute("BEGIN IMMEDIATE")
        for chunk in chunks:
            raw.executemany(sql, chunk)
            rows += len(chunk)
        raw.execute("COMMIT")
        timings["insert_s"] = time.perf_counter() - started
        log(f"  {table}: {rows:,} rows inserted in {timings['insert_s']:.1f} s; re-creating {len(indexes)} indexes")
        started = time.perf_counter()
        for _name, index_sql in indexes:
            raw.execute(index_sql)
        raw.execute("PRAGMA cache_size = -2000")
        raw.execute("PRAGMA foreign_keys = ON")
        timings["indexes_s"] = time.perf_counter() - started
    else:
        with raw.cursor() as cursor:
            cursor.execute("SET maintenance_work_mem = '1GB'")
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'", (table,)
            )
            foreign_keys = cursor.fetchall()
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)", (table, table)
            )
            indexes = cursor.fetchall()
            for name, _definition in foreign_keys:
                cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for chunk in chunks:
                    for row in chunk:
                        copy.write_row(row)
                    rows += len(chunk)
            timings["insert_s"] = time.perf_counter() - started
            log(f"  {table}: {rows:,} rows copied in {timings['insert_s']:.1f} s; re-creating {len(indexes)} indexes "
                f"and {len(foreign_keys)} foreign keys")
            started = time.perf_counter()
            for _name, definition in indexes:
                cursor.execute(definition)
            for name, definition in foreign_keys:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute("RESET maintenance_work_mem")
            timings["indexes_s"] = time.perf_counter() - started
    timings["rows"] = rows
    return timings


# --- the generator ------------------------------------------------------------------------------


class Clock:
    """Minutes since a base minute (local midnight 400 days ago) and the strings each database wants."""

    def __init__(self, today: dt.date, now: dt.datetime, vendor: str) -> None:
        self.base_day = today - dt.timedelta(days=400)
        self.base = dt.datetime.combine(self.base_day, dt.time.min, tzinfo=LOCAL).astimezone(dt.UTC)
        self.now_min = int((now - self.base).total_seconds() // 60)
        self.today_day = (today - self.base_day).days
        suffix = "+00" if vendor == "postgresql" else ""
        total = self.now_min + 1
        utc = np.datetime64(self.base.replace(tzinfo=None), "m") + np.arange(total, dtype="int64")
        text = np.datetime_as_string(utc, unit="s")
        self.minute_text = np.array([value.replace("T", " ") + suffix for value in text.tolist()], dtype=object)
        days = np.datetime64(self.base_day, "D") + np.arange(self.today_day + 400, dtype="int64")
        self.day_text = np.array(np.datetime_as_string(days, unit="D").tolist(), dtype=object)

    def minutes(self, values: np.ndarray) -> list[Any]:
        """Minute offsets (−1 = NULL) as datetime strings."""
        out = self.minute_text[np.clip(values, 0, self.now_min)]
        out[values < 0] = None
        return out.tolist()

    def days(self, values: np.ndarray) -> list[str]:
        return self.day_text[values].tolist()


def _people_chunks(spec: Spec, grids: list[Node], per_grid: np.ndarray, clock: Clock,
                   rng: random.Random) -> Iterator[list[tuple[Any, ...]]]:
    from civicgrid.core.idnumber import make

    span = 29_220  # birth days 1940-01-01 .. 2019-12-31
    first_birth = dt.date(1940, 1, 1)
    created = clock.minute_text[max(0, clock.now_min - 400 * 1440)]
    chunk: list[tuple[Any, ...]] = []
    pk = 0
    for grid, count in zip(grids, per_grid.tolist(), strict=True):
        for number in range(count):
            index = pk
            pk += 1
            # A bijection index -> (birth day, sequence): unique ID numbers without a lookup.
            birth = first_birth + dt.timedelta(days=(index * 7919) % span)
            sequence = index // span
            region = REGION_CODES[sequence % len(REGION_CODES)]
            id_number = make(region, birth, sequence // len(REGION_CODES) * 2 + rng.randint(0, 1))
            sex = "M" if int(id_number[16]) % 2 else "F"
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
            phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
            chunk.append((pk, id_number, name, sex, birth.isoformat(), phone, grid.pk, grid.path,
                          f"{grid.name}{number + 1}号", "", created, created))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _case_chunks(spec: Spec, targets: list[Node], weights: np.ndarray, holders: dict[int, int], clock: Clock,
                 rng: np.random.Generator) -> Iterator[list[tuple[Any, ...]]]:
    """Cases in opening order, `CHUNK` at a time (each chunk one slice of the 12 months)."""
    total = spec.cases
    pieces = max(1, -(-total // CHUNK))
    first_open = clock.now_min - 365 * 1440
    span = clock.now_min - first_open
    paths = np.array([node.path for node in targets], dtype=object)
    pks = np.array([node.pk for node in targets], dtype=np.int64)
    holder = np.array([holders.get(node.pk, -1) for node in targets], dtype=np.int64)
    categories = np.array(CATEGORIES, dtype=object)
    titles = np.array([f"{category}问题" for category in CATEGORIES], dtype=object)
    source_codes = np.array([code for code, _p in SOURCES], dtype=object)
    source_p = np.array([p for _code, p in SOURCES])
    severity_codes = np.array([code for code, _p in SEVERITIES], dtype=object)
    severity_p = np.array([p for _code, p in SEVERITIES])
    status_codes = np.array(STATUS_CODES, dtype=object)
    today = clock.today_day
    now = clock.now_min
    for piece in range(pieces):
        n = total * (piece + 1) // pieces - total * piece // pieces  # even over the slices of the year
        lo = first_open + span * piece // pieces
        hi = first_open + span * (piece + 1) // pieces
        opened = np.sort(rng.integers(lo, max(hi, lo + 1), n))
        target = rng.choice(len(targets), size=n, p=weights)
        opened_day = opened // 1440
        deadline = opened_day + rng.integers(3, 31, n)
        deadline_end = (deadline + 1) * 1440 - 1
        due = deadline < today
        u = rng.random(n)
        status = np.full(n, IN_PROGRESS, dtype=np.int64)
        closed = np.full(n, -1, dtype=np.int64)
        # Due (deadline passed): 2% cancelled, 90% closed (85% of them by the deadline), the rest overdue.
        cancelled = u < 0.02
        closing = due & (u >= 0.02) & (u < 0.92)
        on_time = closing & (rng.random(n) < 0.85)
        late = closing & ~on_time
        closed_on = opened + (rng.random(n) * (np.minimum(deadline_end, now) - opened)).astype(np.int64)
        closed_late = deadline_end + 1 + rng.integers(0, 20 * 1440, n)
        late &= closed_late <= now  # a late fix not made yet is still overdue
        closed[on_time] = closed_on[on_time]
        closed[late] = closed_late[late]
        # Not yet due: 2% cancelled, 45% already closed (by construction on time), the rest in hand.
        early = ~due & (u >= 0.02) & (u < 0.47)
        closed[early] = closed_on[early]
        is_closed = closed >= 0
        status[is_closed] = CLOSED
        status[cancelled] = CANCELLED
        active = ~is_closed & ~cancelled
        a = rng.random(n)
        status[active & (a < 0.18)] = OPEN
        status[active & (a >= 0.18) & (a < 0.45)] = ASSIGNED
        status[active & (a >= 0.45) & (a < 0.85)] = IN_PROGRESS
        status[active & (a >= 0.85)] = SUBMITTED
        closed_day = np.where(is_closed, (np.maximum(closed, 0)) // 1440, 0)
        closed_on_time = np.where(is_closed, closed_day <= deadline, False)
        r = rng.random(n)
        rejections = np.where(is_closed, (r < 0.07).astype(np.int64) + (r < 0.02).astype(np.int64), 0)
        overdue = active & due & (status != SUBMITTED)
        escalation = np.where(overdue, np.minimum(3, 1 + (today - deadline) // 7), 0)
        escalation = np.where(is_closed & ~closed_on_time, rng.integers(0, 2, n), escalation)
        escalated_at = np.where(escalation > 0, np.minimum(deadline_end + 1 + 7 * 1440, now), -1)
        started = np.where((status >= IN_PROGRESS) & (status != CANCELLED),
                           opened + rng.integers(30, 2 * 1440, n), -1)
        end = np.where(is_closed, closed, now)
        started = np.minimum(started, end)
        submitted = np.where(is_closed | (status == SUBMITTED),
                             np.maximum(started, end - rng.integers(10, 1440, n)), -1)
        version = 1 + np.select(
            [status == OPEN, status == ASSIGNED, status == IN_PROGRESS, status == SUBMITTED, status == CLOSED],
            [0, 1, 2, 3, 4], 1,
        ) + 2 * rejections + escalation
        updated = np.where(is_closed, closed, np.maximum(np.maximum(started, submitted), opened))
        updated = np.maximum(updated, np.where(escalated_at >= 0, escalated_at, 0))
        category = rng.integers(0, len(CATEGORIES), n)
        source = rng.choice(len(source_codes), size=n, p=source_p)
        severity = rng.choice(len(severity_codes), size=n, p=severity_p)
        person = holder[target]
        columns = [
            pks[target].tolist(),
            paths[target].tolist(),
            titles[category].tolist(),
            categories[category].tolist(),
            source_codes[source].tolist(),
            [""] * n,
            [""] * n,
            severity_codes[severity].tolist(),
            clock.days(deadline),
            status_codes[status].tolist(),
            [value if value > 0 else None for value in person.tolist()],
            [False] * n,
            [""] * n,
            escalation.tolist(),
            clock.minutes(escalated_at),
            [False] * n,
            clock.minutes(opened),
            clock.minutes(started),
            clock.minutes(submitted),
            clock.minutes(closed),
            [bool(value) if closing_flag else None
             for value, closing_flag in zip(closed_on_time.tolist(), is_closed.tolist(), strict=True)],
            ["重复登记" if flag else "" for flag in cancelled.tolist()],
            rejections.tolist(),
            version.tolist(),
            clock.minutes(updated),
        ]
        yield list(zip(*columns, strict=True))


def generate(connection: Any, spec: Spec, *, log: Callable[[str], None] = print,
             now: dt.datetime | None = None) -> dict[str, Any]:
    """Write the county into the (migrated, empty) database of `connection`. Returns facts and timings."""
    from django.contrib.auth import get_user_model

    from civicgrid.cases.models import Standard, StandardVersion

    now = (now or dt.datetime.now(dt.UTC)).replace(second=0, microsecond=0)
    today = now.astimezone(LOCAL).date()
    facts: dict[str, Any] = {"spec": spec.__dict__, "today": today.isoformat(), "timings": {}}
    timings = facts["timings"]
    rng = random.Random(spec.seed)
    nrng = np.random.default_rng(spec.seed)
    started = time.perf_counter()
    clock = Clock(today, now, connection.vendor)

    # 1. The tree.
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM territory_node")
        (top,) = cursor.fetchone()
    county = build_tree(spec, first_id=(top or 0) + 1)
    _executemany(connection, "territory_node", (
        "id", "parent_id", "kind", "code", "name", "path", "depth", "geometry", "min_lon", "min_lat", "max_lon",
        "max_lat", "is_active",
    ), [
        (node.pk, node.parent, node.kind, node.code, node.name, node.path, node.depth, _geometry(node.box),
         *(node.box or (None, None, None, None)), True)
        for node in county.nodes
    ])
    _reset_sequence(connection, "territory_node")
    grids, posts = county.of_kind("grid"), county.of_kind("post")
    facts["nodes"] = {kind: len(county.of_kind(kind)) for kind in
                      ("district", "town", "village", "grid", "brigade", "zone", "line", "post")}
    log(f"  tree: {len(county.nodes):,} nodes {facts['nodes']}")

    # 2. People: the household-equivalent registry, unevenly spread over the grids.
    grid_weights = nrng.lognormal(0.0, 0.5, len(grids))
    per_grid = nrng.multinomial(spec.households, grid_weights / grid_weights.sum())
    with connection.cursor() as cursor:
        facts["case_mix"] = _case_mix(cursor, today)
        cursor.execute("SELECT count(*) FROM people_person")
        if cursor.fetchone()[0]:
            raise RuntimeError("people_person is not empty: generate into a fresh database")
    timings["people"] = bulk_load(connection, "people_person", PERSON_COLUMNS,
                                  _people_chunks(spec, grids, per_grid, clock, rng), log)
    _reset_sequence(connection, "people_person")
    first_person = np.concatenate([[1], 1 + np.cumsum(per_grid)[:-1]])

    # 3. Primary holders of every node that needs one: 2% never had one, 3% got theirs only
    # recently (a gap earlier in the year), 10% changed holder half a year ago.
    holders: dict[int, int] = {}
    grid_index = {grid.pk: index for index, grid in enumerate(grids)}
    grids_under: dict[int, list[int]] = {}
    for grid in grids:
        for ancestor in grid.path.strip("/").split("/")[:-1]:
            grids_under.setdefault(int(ancestor), []).append(grid.pk)
    assignments = []
    for node in county.nodes:
        role = REQUIRED_ROLE.get(node.kind)
        if role is None:
            continue
        draw = rng.random()
        if draw < 0.02:
            continue
        pool = [node.pk] if node.kind == "grid" else grids_under.get(node.pk) or [rng.choice(grids).pk]
        home = grid_index[rng.choice(pool)]

        def resident(home: int = home) -> int:
            return min(spec.households, int(first_person[home]) + rng.randrange(max(1, int(per_grid[home]))))

        person = resident()
        holders[node.pk] = person
        if draw < 0.05:
            assignments.append((person, node.pk, role, True, today - dt.timedelta(days=rng.randint(5, 90)), None, ""))
        elif draw < 0.15:
            changed = today - dt.timedelta(days=rng.randint(150, 210))
            predecessor = resident()
            assignments.append((predecessor, node.pk, role, True, today - dt.timedelta(days=800), changed, "调岗"))
            assignments.append((person, node.pk, role, True, changed, None, ""))
        else:
            assignments.append((person, node.pk, role, True, today - dt.timedelta(days=rng.randint(400, 1500)), None, ""))
    _executemany(connection, "territory_assignment",
                 ("person_id", "node_id", "role", "is_primary", "valid_from", "valid_to", "note"), assignments)
    facts["assignments"] = len(assignments)
    log(f"  assignments: {len(assignments):,}")

    # 4. A published standard, and a completed inspection of 90% of grids each month.
    user_model = get_user_model()
    inspector = user_model.objects.create(username="bench_inspector", role="inspector", display_name="督查员")
    standard = Standard.objects.create(code="BENCH", name="网格测评（基准）")
    version = StandardVersion.objects.create(
        standard=standard, number=1, effective_from=today - dt.timedelta(days=500), status="published",
        published_at=now - dt.timedelta(days=500), created_by=inspector, published_by=inspector,
    )
    inspections = []
    months = [today.replace(day=1)]
    while len(months) < 13:
        months.append((months[-1] - dt.timedelta(days=1)).replace(day=1))
    for month in reversed(months):
        last_day = min(today, (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1))
        for grid in grids:
            if rng.random() >= 0.9:
                continue
            day = month + dt.timedelta(days=rng.randrange((last_day - month).days + 1))
            checked = rng.randint(18, 25)
            passed = checked - min(checked, int(rng.expovariate(1.5)))
            at = dt.datetime.combine(day, dt.time(10, 0), tzinfo=LOCAL).astimezone(dt.UTC)
            stamp = at.strftime("%Y-%m-%d %H:%M:%S") + ("+00" if connection.vendor == "postgresql" else "")
            inspections.append((version.pk, grid.pk, grid.path, day.isoformat(), inspector.pk, "completed", "", stamp,
                                stamp, passed, checked, round(100 * passed / checked, 1), checked, passed,
                                checked - passed, rng.randint(0, 2)))
    _executemany(connection, "cases_inspection", (
        "version_id", "node_id", "scope_path", "inspected_on", "inspector_id", "status", "note", "created_at",
        "completed_at", "score_achieved", "score_max", "score_percent", "items_checked", "items_passed",
        "items_failed", "items_not_applicable",
    ), inspections)
    facts["inspections"] = len(inspections)
    log(f"  inspections: {len(inspections):,}")

    # 5. Cases: 1 - post_case_share on grids, the rest on posts, unevenly.
    targets = grids + posts
    weights = np.concatenate([
        nrng.lognormal(0.0, 0.6, len(grids)) * (1 - spec.post_case_share) / len(grids),
        nrng.lognormal(0.0, 0.6, len(posts)) * spec.post_case_share / len(posts),
    ])
    weights = weights / weights.sum()
    timings["cases"] = bulk_load(connection, "cases_case", CASE_COLUMNS,
                                 _case_chunks(spec, targets, weights, holders, clock, nrng), log)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Steady state: autovacuum sets the visibility map of a loaded table (insert threshold,
            # PostgreSQL 13+); without it no index-only scan can be chosen. As explain_asof.py does.
            cursor.execute("VACUUM (ANALYZE)")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.execute("SELECT status, count(*) FROM cases_case GROUP BY status ORDER BY status")
        facts["case_status"] = dict(cursor.fetchall())
        facts["case_mix"] = _case_mix(cursor, today)
        cursor.execute("SELECT count(*) FROM people_person")
        facts["people"] = cursor.fetchone()[0]
    facts["cases"] = sum(facts["case_status"].values())
    timings["total_s"] = time.perf_counter() - started
    facts["sample"] = {
        "root": county.nodes[0].pk,
        "town": county.of_kind("town")[0].pk,
        "village": county.of_kind("village")[0].pk,
    }
    return facts
