"""The demo's rectification loop: the civilized-traffic intersection standard (domain.md §2.4) as a
published version, a year of inspections along 东昌东路's posts, and the cases their findings opened
in every state — routed, in progress, submitted, closed on time, closed late, rejected then fixed,
cancelled, overdue and escalated, plus one in triage — so the queues, the case pages and the loop's
indicators (结案率, 按期整改率, 检查合格率) have a history.

Everything goes through the services with `now` set to the moment it happened, so events, photos,
deadlines and escalation levels are what real use produces. `plan_cases()` draws the year from a
fixed seed as plain data; dates count back from the build day (the same day gives the same data)."""

from __future__ import annotations

import datetime as dt
import random
import struct
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from civicgrid.accounts.models import User
from civicgrid.cases import services
from civicgrid.cases.inspections import inspection_complete, inspection_create, inspection_record_result
from civicgrid.cases.models import (
    Case,
    CaseSource,
    Comparison,
    ScoringRule,
    Severity,
    Standard,
    StandardVersion,
)
from civicgrid.cases.standards import ItemSpec, standard_version_create, standard_version_publish
from civicgrid.territory.models import Node, NodeKind

STANDARD_CODE = "WMJT-LK"
STANDARD_NAME = "全国文明城市测评·文明交通路口实地考察"
EFFECTIVE_FROM = dt.date(2020, 1, 1)
CASES_SEED = 20200818
LINE_NAME = "东昌东路"
TRIAGE_NODE = "黄河路·珠江路口"  # the post whose officer was transferred: no one to route to
INSPECTOR, HANDLER, SQUAD_LEADER = "tian.guodong", "zhang.hao", "li.weidong"

POST = (NodeKind.POST,)
POST_AND_LINE = (NodeKind.POST, NodeKind.LINE)
ITEMS: tuple[ItemSpec, ...] = (
    ItemSpec("礼让斑马线", "1.1", "机动车礼让斑马线", ScoringRule.PASS_FAIL, Decimal("10"), POST,
             criteria="公交车、出租车及其他机动车在斑马线前减速；有信号灯路口礼让依法通行的行人，无信号灯路口一律礼让。"),
    ItemSpec("各行其道", "2.1", "机动车、非机动车、行人各行其道", ScoringRule.PASS_FAIL, Decimal("10"), POST_AND_LINE),
    ItemSpec("各行其道", "2.2", "机动车不闯红灯、按车道行驶、不逆行", ScoringRule.PASS_FAIL, Decimal("10"), POST),
    ItemSpec("各行其道", "2.3", "非机动车不闯红灯、不逆行", ScoringRule.PASS_FAIL, Decimal("10"), POST),
    ItemSpec("各行其道", "2.4", "行人不闯红灯、不乱穿马路、不翻越护栏", ScoringRule.PASS_FAIL, Decimal("10"), POST),
    ItemSpec("各行其道", "2.5", "非机动车、行人遵章率", ScoringRule.MEASURED, Decimal("10"), POST,
             criteria="早晚高峰各观测若干信号周期：遵章通过数 ÷ 观察通过总数。", comparison=Comparison.GTE,
             threshold=Decimal("98"), unit="%"),
    ItemSpec("交通设施", "3.1", "行人过街设施和机非分离设施完好", ScoringRule.POINTS, Decimal("10"), POST_AND_LINE,
             criteria="护栏、隔离墩、过街设施缺损一处扣 2 分。"),
    ItemSpec("交通设施", "3.2", "交通信号灯运行正常", ScoringRule.PASS_FAIL, Decimal("10"), POST),
    ItemSpec("交通设施", "3.3", "交通标志规范、标线清晰、斑马线设置合理", ScoringRule.POINTS, Decimal("10"),
             POST_AND_LINE, criteria="标志不规范、标线不清晰、斑马线设置不合理每处扣 2 分。"),
    ItemSpec("文明劝导", "4.1", "早中晚高峰时段有文明劝导", ScoringRule.PASS_FAIL, Decimal("10"), POST,
             criteria="行人闯红灯无人劝阻即为不符合。"),
)
FINDING_NOTES = {
    "1.1": "早高峰两辆出租车未在斑马线前减速礼让", "2.1": "电动自行车驶入机动车道", "2.2": "一辆货车闯红灯",
    "2.3": "电动自行车逆行三起", "2.4": "行人翻越中央护栏", "2.5": "观测遵章率 96.2%",
    "3.1": "东北角护栏缺损两处", "3.2": "南北向行人信号灯不亮", "3.3": "停止线磨损、斑马线模糊",
    "4.1": "晚高峰无人劝导，行人闯红灯无人劝阻",
}
FIX_NOTES = {
    "1.1": "约谈出租车公司并在路口增设礼让提示牌", "2.1": "施划非机动车道标线并现场纠正", "2.2": "调取监控处罚并加强路面巡查",
    "2.3": "设置逆行抓拍并开展宣传", "2.4": "加高中央护栏", "2.5": "高峰时段增派劝导员",
    "3.1": "护栏已修复", "3.2": "信号灯已维修恢复", "3.3": "重新施划停止线和斑马线", "4.1": "落实志愿者早中晚三班劝导",
}

# What happens to the findings of each month's inspection, oldest month first; the last months'
# cases are still open in various states, one of the older ones is overdue (and escalated).
OUTCOMES = (
    "on_time", "late", "on_time", "rejected_then_fixed", "on_time", "cancelled", "late", "on_time",
    "overdue", "on_time", "submitted", "in_progress",
)


@dataclass(frozen=True)
class PlannedInspection:
    post: str
    day: dt.date
    failed: tuple[str, ...]  # item codes that fail
    measured: Decimal  # the 2.5 compliance rate observed
    outcome: str  # what happens to the findings


@dataclass
class CasesDemoSummary:
    standard: str
    inspections: int
    cases_by_status: dict[str, int] = field(default_factory=dict)
    escalated: int = 0


def plan_cases(*, today: dt.date, posts: list[str], seed: int = CASES_SEED) -> list[PlannedInspection]:
    """A year of monthly inspections along the line's posts (pure data, deterministic)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic demo data, not a secret
    codes = [item.code for item in ITEMS]
    plan = []
    for index, outcome in enumerate(OUTCOMES):
        months_ago = len(OUTCOMES) - 1 - index
        # the last month's inspection is days old, so its case is still within the deadline
        day = today - dt.timedelta(days=months_ago * 30 + 12 + rng.randrange(6) if months_ago else 3 + rng.randrange(3))
        failed = tuple(sorted(rng.sample(codes, rng.choice((1, 1, 2)))))
        measured = Decimal("96.2") if "2.5" in failed else Decimal(str(98 + rng.randrange(20) / 10))
        plan.append(PlannedInspection(posts[index % len(posts)], day, failed, measured, outcome))
    # a finding three days past its deadline (escalated to the squad leader), and the freshest one, just routed
    plan.append(PlannedInspection(posts[1 % len(posts)], today - dt.timedelta(days=10), ("3.3",), Decimal("98.6"),
                                  "overdue"))
    plan.append(PlannedInspection(posts[0], today - dt.timedelta(days=2), ("3.2",), Decimal("99.0"), "assigned"))
    return plan


def _png(seed: int) -> bytes:
    """A small solid-colour PNG standing in for a phone photo."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    color = bytes(((seed * 67) % 200 + 30, (seed * 131) % 200 + 30, (seed * 29) % 200 + 30))
    width, height = 32, 24
    raw = b"".join(b"\x00" + color * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _photo(seed: int, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, _png(seed), content_type="image/png")


def _at(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 30)))


def _standard_version() -> StandardVersion:
    """The published intersection standard (kept across demo rebuilds: it is global catalogue data)."""
    existing = StandardVersion.objects.filter(standard__code=STANDARD_CODE, status="published").order_by("-number")
    if existing.exists():
        return existing.first()  # type: ignore[return-value]
    version = standard_version_create(
        actor=None, code=STANDARD_CODE, name=STANDARD_NAME, effective_from=EFFECTIVE_FROM, items=list(ITEMS),
        description="依据全国文明城市测评体系实地考察路口部分整理（演示数据）", note="2020 年版",
    )
    return standard_version_publish(actor=None, version=version, now=_at(EFFECTIVE_FROM, 9))


def _progress(case: Case, outcome: str, *, opened: dt.date, handler: Any, verifier: Any, rejecter: Any,
              manager: Any, number: int) -> None:
    """Move a case through its planned life with the moments it happened."""
    code = case.source_ref.rsplit(":", 1)[-1]
    fix = FIX_NOTES.get(code, "已整改")
    if outcome == "assigned":
        return
    if outcome == "cancelled":
        services.case_cancel(actor=manager, case=case, version=case.version, reason="与同期群众反映问题重复登记，合并办理",
                             now=_at(opened + dt.timedelta(days=1), 10))
        return
    case = services.case_start(actor=handler, case=case, version=case.version, note="已到现场核实",
                               now=_at(opened + dt.timedelta(days=1), 9))
    if outcome in ("in_progress", "overdue"):
        return
    submit_day = opened + dt.timedelta(days=9 if outcome == "late" else 3)
    case = services.case_submit(actor=handler, case=case, version=case.version, note=fix,
                                photos_in=[_photo(number * 7 + 1, "整改后.png")], lon=116.042, lat=36.456,
                                now=_at(submit_day, 16))
    if outcome == "submitted":
        return
    if outcome == "rejected_then_fixed":
        case = services.case_reject(actor=rejecter, case=case, version=case.version,
                                    reason="复查时仍有问题，整改不彻底", now=_at(submit_day + dt.timedelta(days=1), 10))
        submit_day += dt.timedelta(days=3)
        case = services.case_submit(actor=handler, case=case, version=case.version, note=f"{fix}（返工后）",
                                    photos_in=[_photo(number * 7 + 2, "返工后.png")], now=_at(submit_day, 15))
    services.case_verify(actor=verifier, case=case, version=case.version, note="现场复核合格，予以销号",
                         now=_at(submit_day + dt.timedelta(days=1), 11))


def build_cases_demo(*, root_code: str, today: dt.date | None = None) -> CasesDemoSummary:
    """The standard, a year of inspections on 东昌东路 with their cases in every state, one triage case,
    and an escalation run as of today. Runs inside the demo's transaction."""
    today = today or timezone.localdate()
    root = Node.objects.get(code=root_code)
    under = Node.objects.filter(path__startswith=root.path, is_active=True)
    line = under.get(name=LINE_NAME, kind=NodeKind.LINE)
    posts = {node.name: node for node in under.filter(parent=line).order_by("code")}
    users = {user.username: user for user in User.objects.filter(username__in=[INSPECTOR, HANDLER, SQUAD_LEADER])}
    inspector, officer, squad = users[INSPECTOR], users[HANDLER], users[SQUAD_LEADER]
    version = _standard_version()
    items = {item.code: item for item in version.items.all()}
    plan = plan_cases(today=today, posts=list(posts))
    for number, planned in enumerate(plan, start=1):
        post = posts[planned.post]
        at = _at(planned.day, 9)
        inspection = inspection_create(actor=inspector, version=version, node=post, inspected_on=planned.day, now=at)
        for code, item in items.items():
            if not item.applies_to_kind(post.kind):
                continue
            failed = code in planned.failed
            values: dict[str, Any]
            if item.rule == ScoringRule.PASS_FAIL:
                values = {"passed": not failed}
            elif item.rule == ScoringRule.POINTS:
                values = {"points": item.points - (4 if failed else 0)}
            else:
                values = {"measured": planned.measured}
            inspection_record_result(
                actor=inspector, inspection=inspection, item=item, note=FINDING_NOTES[code] if failed else "",
                photos_in=[_photo(number * 7 + 3, "现场.png")] if failed else [], lon=116.042 if failed else None,
                lat=36.456 if failed else None, now=at + dt.timedelta(minutes=5), **values,
            )
        done_at = at + dt.timedelta(hours=1)
        inspection = inspection_complete(actor=inspector, inspection=inspection, now=done_at,
                                         deadline=planned.day + dt.timedelta(days=7),
                                         severity=Severity.HIGH if "3.2" in planned.failed else Severity.MEDIUM)
        # 振华超市路口's officer works his own cases; elsewhere the squad leader acts for officers without accounts.
        for case in Case.objects.filter(inspection_result__inspection=inspection).order_by("pk"):
            handler = officer if case.assignee_id == officer.pk else squad
            verifier = squad if handler == officer else inspector
            _progress(case, planned.outcome, opened=planned.day, handler=handler, verifier=verifier,
                      rejecter=inspector, manager=squad, number=number)
    gap = under.filter(name=TRIAGE_NODE).first()
    if gap is not None:
        services.case_open(
            actor=None, node=gap, title="路口夜间信号灯黄闪、无人值守", category="交通设施", source=CaseSource.CITIZEN_REPORT,
            source_ref="12345 热线", description="群众来电反映：23 时后信号灯黄闪，车辆抢行。", severity=Severity.HIGH,
            deadline=today + dt.timedelta(days=5), now=_at(today, 8),
        )
    escalation = services.cases_escalate_overdue(now=_at(today, 6))  # the daily run, early morning
    summary = CasesDemoSummary(standard=str(version), inspections=len(plan), escalated=escalation.escalated)
    for status in Case.objects.filter(scope_path__startswith=root.path).values_list("status", flat=True):
        summary.cases_by_status[status] = summary.cases_by_status.get(status, 0) + 1
    return summary


def standard_exists() -> bool:
    """Whether the demo's standard is in the catalogue."""
    return Standard.objects.filter(code=STANDARD_CODE).exists()
