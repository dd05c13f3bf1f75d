"""Builders for the cases tests (and the security matrix's world): real image bytes, a standard, a
small policing grid with responsible people and accounts, and cases in both towns of `world`."""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.cases.inspections import inspection_complete, inspection_create, inspection_record_result
from civicgrid.cases.models import Comparison, ScoringRule, StandardVersion
from civicgrid.cases.standards import ItemSpec, standard_version_create, standard_version_publish
from civicgrid.people.models import Person
from civicgrid.territory.models import Node, NodeKind, ResponsibilityRole
from civicgrid.territory.services import assignment_start
from civicgrid.testing import factories

SINCE = dt.date(2024, 1, 1)


def png_bytes(width: int = 4, height: int = 3, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid PNG image."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(color) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpeg_header(width: int = 640, height: int = 480) -> bytes:
    """The start of a baseline JPEG: SOI, a JFIF APP0 segment and the SOF0 frame header."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def photo(name: str = "现场.png", data: bytes | None = None, content_type: str = "image/png") -> SimpleUploadedFile:
    """An uploaded photo (a real PNG unless `data` says otherwise)."""
    return SimpleUploadedFile(name, png_bytes() if data is None else data, content_type=content_type)


def traffic_items(kinds: tuple[str, ...] = (NodeKind.POST,)) -> list[ItemSpec]:
    """A small intersection checklist with each scoring rule."""
    post_and_line = tuple(dict.fromkeys((*kinds, NodeKind.LINE)))
    return [
        ItemSpec("路口秩序", "1.1", "礼让斑马线", ScoringRule.PASS_FAIL, Decimal("10"), kinds,
                 criteria="机动车在斑马线前减速礼让行人"),
        ItemSpec("路口秩序", "1.2", "信号灯正常", ScoringRule.PASS_FAIL, Decimal("5"), post_and_line),
        ItemSpec("交通设施", "2.1", "标志标线规范清晰", ScoringRule.POINTS, Decimal("10"), post_and_line),
        ItemSpec("交通设施", "2.2", "行人遵章率", ScoringRule.MEASURED, Decimal("10"), kinds,
                 comparison=Comparison.GTE, threshold=Decimal("98"), unit="%"),
    ]


def published_standard(
    code: str = "WMJT-LK", kinds: tuple[str, ...] = (NodeKind.POST,), effective_from: dt.date = SINCE,
) -> StandardVersion:
    """A published version of the intersection checklist (system actor)."""
    version = standard_version_create(
        actor=None, code=code, name="文明交通路口测评", effective_from=effective_from, items=traffic_items(kinds)
    )
    return standard_version_publish(actor=None, version=version)


def _person_with_account(node: Node, name: str, role: str, username: str, scope: Node) -> tuple[Person, Any]:
    person = factories.person(node, name=name)
    user = factories.user_with_scope(role, scope, username=username)
    person.account = user
    person.save(update_fields=["account"])
    return person, user


@dataclass
class Policing:
    """Brigade → zone → line → two posts under world.district, each level with its primary holder."""

    brigade: Node
    zone: Node
    line: Node
    post: Node
    vacant_post: Node
    officer: Person
    officer_user: Any
    auxiliary: Person
    line_leader: Person
    line_leader_user: Any
    zone_leader: Person
    zone_leader_user: Any
    brigade_head: Person
    inspector: Any
    admin: Any


def policing(world: Any) -> Policing:
    """The traffic grid of the tests: the post has an officer (with an account) and a non-primary
    auxiliary; the second post has nobody; the brigade head has no account."""
    brigade = factories.node(world.district, NodeKind.BRIGADE, "开发区交警大队", code="JJDD")
    zone = factories.node(brigade, NodeKind.ZONE, "东昌东路片区", code="JJDD-P1")
    line = factories.node(zone, NodeKind.LINE, "东昌东路", code="JJDD-P1-X01")
    post = factories.node(line, NodeKind.POST, "东昌东路·振华超市路口", code="JJDD-P1-X01-D01")
    vacant = factories.node(line, NodeKind.POST, "东昌东路·嫩江路口", code="JJDD-P1-X01-D02")
    officer, officer_user = _person_with_account(world.village_a, "张浩", Role.OFFICER, "zhang.hao", post)
    auxiliary = factories.person(world.village_a, name="王小兵")
    line_leader, line_user = _person_with_account(world.village_a, "李卫东", Role.SQUAD_LEADER, "li.weidong", line)
    zone_leader, zone_user = _person_with_account(world.village_a, "韩东明", Role.BRIGADE_LEADER, "han.dongming", zone)
    head = factories.person(world.village_a, name="周大队")
    role = ResponsibilityRole
    for person, node, held, primary in (
        (officer, post, role.POST_OFFICER, True),
        (auxiliary, post, role.POST_OFFICER, False),
        (line_leader, line, role.LINE_LEADER, True),
        (zone_leader, zone, role.ZONE_LEADER, True),
        (head, brigade, role.BRIGADE_HEAD, True),
    ):
        assignment_start(actor=None, person=person, node=node, role=held, valid_from=SINCE, is_primary=primary)
    inspector = factories.user_with_scope(Role.INSPECTOR, brigade, username="tian.guodong")
    admin = factories.user_with_scope(Role.COUNTY_ADMIN, world.district, username="zhao.liangcheng")
    return Policing(brigade, zone, line, post, vacant, officer, officer_user, auxiliary, line_leader, line_user,
                    zone_leader, zone_user, head, inspector, admin)


MATRIX_STANDARD = "CG-MATRIX"


def matrix_objects(world: Any) -> dict[str, tuple[Any, Any]]:
    """For the security matrix: in each village of `world` (whose cadre must already be assigned) a
    completed inspection with a failed item and its photo, which opened a case routed to the cadre;
    the standard is MATRIX_STANDARD v1 (global: addressed by code and number, or by id as the same
    object in and out of the scope)."""
    version = published_standard(code=MATRIX_STANDARD, kinds=(NodeKind.VILLAGE,))
    inspector = factories.user_with_scope(Role.INSPECTOR, world.district, username="matrix_inspector")
    made: dict[str, list[Any]] = {"case": [], "inspection": [], "evidence": []}
    today = timezone.localdate()
    for village in (world.village_a, world.village_b):
        inspection = inspection_create(actor=inspector, version=version, node=village, inspected_on=today)
        items = {item.code: item for item in version.items.all()}
        failed = inspection_record_result(
            actor=inspector, inspection=inspection, item=items["1.1"], passed=False, note="机动车未礼让行人",
            photos_in=[photo()],
        )
        inspection_record_result(actor=inspector, inspection=inspection, item=items["1.2"], passed=True)
        inspection_record_result(actor=inspector, inspection=inspection, item=items["2.1"], points=Decimal("10"))
        inspection_record_result(actor=inspector, inspection=inspection, item=items["2.2"], measured=Decimal("99"))
        inspection_complete(actor=inspector, inspection=inspection, deadline=today + dt.timedelta(days=7))
        made["inspection"].append(inspection)
        made["case"].append(failed.case)
        made["evidence"].append(failed.evidence.get())
    # The standard is global: the same version "inside" and "outside" (API bodies refer to it by id).
    return {**{kind: (pair[0], pair[1]) for kind, pair in made.items()}, "standard_version": (version, version)}
