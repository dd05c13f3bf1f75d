"""`civicgrid demo`: the newspaper page's district as a working world.

聊城市 with 聊城经济技术开发区 (its traffic brigade's 片/线/点段 grid around 东昌东路 and 振华超市,
and its sub-districts), 莘县 (十八里铺镇 with 徐庄) and 聊城高新区 (顾官屯镇 with 枣寨村); about two
thousand synthetic residents in families; responsible persons for nearly every node with a little
history; one demo login per role with its data scope.

Two steps: `plan_demo()` draws the whole world from a fixed seed as plain data (no database), and
`build_demo()` writes it through the services (node_create, person_create, assignment_start,
grant_add, all with actor=None), so paths, audit rows and row history are what real use produces.
The build is one transaction: it either leaves a complete demo or nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.db import models, transaction
from django.db.models import ProtectedError, Q, RestrictedError
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Role
from civicgrid.core import audit
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.demo import places
from civicgrid.demo.cases_demo import build_cases_demo
from civicgrid.demo.indicators_demo import build_indicator_history
from civicgrid.demo.places import PlannedNode
from civicgrid.demo.residents import Resident, ResidentMaker, clan_surname
from civicgrid.people.models import Person
from civicgrid.people.services import check_identity, normalise_phone, person_create
from civicgrid.territory.models import Assignment, Grant, Node, NodeKind, ResponsibilityRole
from civicgrid.territory.selectors import coverage_gaps
from civicgrid.territory.services import assignment_end, assignment_start, grant_add, node_create

# The page's issue is from the summer of 2020; any fixed number would do.
DEMO_SEED = 20200818
# One shared password for every demo login: 12 characters, upper, lower, digit and symbol.
DEMO_PASSWORD = "Demo-2026-cg"  # noqa: S105 - a published demo credential, printed on purpose
DEMO_ROOT_CODE = places.CITY_CODE
# A real Liaocheng deployment would also have a 371500 root; the brigade's demo code tells the
# demo apart, so `--reset` never deletes a tree it did not build.
DEMO_MARKER_CODE = places.BRIGADE_CODE

_CODES = places.territory().codes

# Nodes left without a current primary responsible person on purpose, so the coverage report has
# something to show: a post whose officer was transferred, a line whose squad leader retired, a
# village that never had a cadre, a grid without a grid worker, a community whose cadre moved on.
DEMO_GAP_NAMES = ("黄河路·珠江路口", "长江路", "郭屯", "徐庄第三网格", "黄河社区")
DEMO_GAPS: frozenset[str] = frozenset(_CODES[name] for name in DEMO_GAP_NAMES)


@dataclass(frozen=True)
class DemoLogin:
    """A demo account: role, granted subtrees (node codes) and, for field staff, the responsible
    person it is (`person_key`), who holds a responsibility on the granted node."""

    username: str
    name: str
    role: str
    scope: tuple[str, ...]
    duty: str
    person_key: str | None = None
    department: str = ""

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)


DEMO_LOGINS: tuple[DemoLogin, ...] = (
    DemoLogin("zhao.liangcheng", "赵良成", Role.COUNTY_ADMIN, (places.CITY_CODE,), "全市网格、人员与包干管理",
              department="聊城市网格化服务管理中心"),
    DemoLogin("sun.hongwei", "孙宏伟", Role.SYSTEM_ADMIN, (places.CITY_CODE,), "账号与数据范围授权（不看个人信息）",
              department="聊城市网格化服务管理中心"),
    DemoLogin("gao.xiumei", "高秀梅", Role.AUDITOR, (places.CITY_CODE,), "只读审计日志", department="聊城市审计局"),
    DemoLogin("tian.guodong", "田国栋", Role.INSPECTOR, (places.DEVELOPMENT_ZONE_CODE,), "创城督查（只读）",
              department="开发区文明办"),
    DemoLogin("xu.lixin", "徐立新", Role.TOWN_OFFICER, (places.SHIBALIPU_CODE,), "十八里铺镇包镇领导（扶贫专班）",
              person_key="xu.lixin", department="十八里铺镇扶贫专班"),
    DemoLogin("xu.jianjun", "徐建军", Role.VILLAGE_CADRE, (places.XUZHUANG_CODE,), "徐庄包村干部",
              person_key="xu.jianjun", department="十八里铺镇人民政府"),
    DemoLogin("liu.yuxia", "刘玉霞", Role.TOWN_OFFICER, (places.GUGUANTUN_CODE,), "顾官屯镇包镇领导（扶贫办）",
              person_key="liu.yuxia", department="顾官屯镇扶贫办"),
    DemoLogin("ma.lijuan", "马丽娟", Role.DEPARTMENT_CLERK, (places.SHENXIAN_CODE,), "残联名单上传与核对",
              department="莘县残疾人联合会"),
    DemoLogin("han.dongming", "韩东明", Role.BRIGADE_LEADER, (_CODES["东昌东路片区"],), "副大队长，包东昌东路片区",
              person_key="han.dongming", department="聊城开发区交警大队"),
    DemoLogin("li.weidong", "李卫东", Role.SQUAD_LEADER, (_CODES["东昌东路"],), "一中队中队长，包东昌东路",
              person_key="li.weidong", department="聊城开发区交警大队一中队"),
    DemoLogin("zhang.hao", "张浩", Role.OFFICER, (_CODES["东昌东路·振华超市路口"],), "民警，包振华超市路口",
              person_key="zhang.hao", department="聊城开发区交警大队一中队"),
)


@dataclass(frozen=True)
class PlannedPerson:
    """A person to register; `staff` (cadres, officers) go through person_create one by one,
    the synthetic residents through the bulk path."""

    key: str
    resident: Resident
    home_code: str
    address: str
    staff: bool = False


@dataclass(frozen=True)
class PlannedDuty:
    """One responsibility period; `valid_to` set means it is history."""

    person_key: str
    node_code: str
    role: str
    valid_from: dt.date
    valid_to: dt.date | None = None
    is_primary: bool = True
    note: str = ""


@dataclass
class DemoPlan:
    nodes: list[PlannedNode]
    people: list[PlannedPerson] = field(default_factory=list)
    duties: list[PlannedDuty] = field(default_factory=list)
    logins: tuple[DemoLogin, ...] = DEMO_LOGINS

    @property
    def steps(self) -> int:
        """Units of work, for a progress bar."""
        return len(self.nodes) + len(self.people) + len(self.duties) + len(self.logins)


class DemoStatus(StrEnum):
    ABSENT = "absent"
    PRESENT = "present"
    FOREIGN = "foreign"  # a 371500 root exists that the demo did not build


# ---------------------------------------------------------------------------------------------
# Planning (pure data, deterministic)


class _Planner:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - synthetic demo data, not a secret
        self.maker = ResidentMaker(self.rng)
        self.territory = places.territory()
        self.people: list[PlannedPerson] = []
        self.duties: list[PlannedDuty] = []
        self._house_numbers: Counter[str] = Counter()

    # -- where people live -----------------------------------------------------------------

    def address(self, node: PlannedNode) -> str:
        # numbered per village, not per grid: a village's grids share one street numbering
        self._house_numbers[node.address_prefix] += 1
        number = self._house_numbers[node.address_prefix]
        if node.urban:
            building, rest = divmod(number - 1, 12)
            unit, flat = divmod(rest, 6)
            floor, door = divmod(flat, 2)
            return f"{node.address_prefix}{building + 1}号楼{unit + 1}单元{floor + 1}0{door + 1}室"
        return f"{node.address_prefix}{number}号"

    def residents(self) -> None:
        for node in self.territory.nodes:
            if not node.residents:
                continue
            village = node if node.kind != NodeKind.GRID else self.territory.by_code(node.parent_code or "")
            clan = None if node.urban else clan_surname(village.name)
            count = 0
            while count < node.residents:
                address = self.address(node)
                for resident in self.maker.household(node.region, clan):
                    self.people.append(PlannedPerson(f"r{len(self.people):05d}", resident, node.code, address))
                    count += 1

    # -- staff -------------------------------------------------------------------------------

    def staff(
        self, key: str, *, home: PlannedNode, born: tuple[int, int], sex: str | None = None,
        name: tuple[str, str] | None = None,
    ) -> str:
        """A cadre or police officer living in `home`; fixed `name` (surname, given) for demo logins."""
        sex = sex or ("M" if self.rng.random() < 0.75 else "F")
        birth = self.maker.birth_date(*born)
        surname, given = name if name else (self.maker.surname(), None)
        resident = self.maker.person(
            surname=surname, given=given, sex=sex, birth_date=birth, region=home.region, relation="户主"
        )
        # staff are always reachable: a responsible person without a phone is no use to case routing
        if not resident.phone:
            resident = Resident(resident.name, resident.sex, resident.birth_date, resident.id_number,
                                self.maker.mobile(), resident.relation)
        self.people.append(PlannedPerson(key, resident, home.code, self.address(home), staff=True))
        return key

    def day(self, first: dt.date = dt.date(2019, 1, 2), last: dt.date = dt.date(2020, 12, 31)) -> dt.date:
        """A working day between two dates: appointments take effect on weekdays."""
        day = first + dt.timedelta(days=self.rng.randrange((last - first).days + 1))
        return day + dt.timedelta(days=(7 - day.weekday()) % 7 if day.weekday() >= 5 else 0)

    def duty(
        self, key: str, node_name: str, role: str, valid_from: dt.date, valid_to: dt.date | None = None,
        *, is_primary: bool = True, note: str = "",
    ) -> None:
        self.duties.append(
            PlannedDuty(key, self.territory.codes[node_name], role, valid_from, valid_to, is_primary, note)
        )

    def _community_homes(self) -> list[PlannedNode]:
        return [n for n in self.territory.nodes if n.urban]

    def policing(self) -> None:
        homes = self._community_homes()
        role = ResponsibilityRole

        def officer(key: str, born: tuple[int, int] = (1975, 1996), **kwargs: Any) -> str:
            return self.staff(key, home=self.rng.choice(homes), born=born, **kwargs)

        # 大队长: replaced in 2019, so the brigade's history has a predecessor
        self.duty(officer("brigade-head-1", (1962, 1967), sex="M"), "聊城开发区交警大队", role.BRIGADE_HEAD,
                  dt.date(2016, 5, 3), dt.date(2019, 8, 12), note="大队长（已调任）")
        self.duty(officer("brigade-head-2", (1968, 1975), sex="M"), "聊城开发区交警大队", role.BRIGADE_HEAD,
                  dt.date(2019, 8, 12), note="大队长")

        # 大队领导包片
        han = officer("han.dongming", (1972, 1976), sex="M", name=("韩", "东明"))
        self.duty(han, "东昌东路片区", role.ZONE_LEADER, dt.date(2019, 3, 11), note="副大队长")
        self.duty(officer("zone-2", (1970, 1978)), "黄河路片区", role.ZONE_LEADER, dt.date(2019, 3, 11), note="教导员")
        self.duty(officer("zone-3-old", (1965, 1970), sex="M"), "中华路片区", role.ZONE_LEADER,
                  dt.date(2018, 3, 5), dt.date(2020, 2, 17), note="副大队长（已退休）")
        self.duty(officer("zone-3", (1974, 1980), sex="M"), "中华路片区", role.ZONE_LEADER, dt.date(2020, 2, 17),
                  note="副大队长")

        # 中队长包线: each squad (中队) covers the two lines of one zone
        squads = {"东昌东路": "一中队中队长", "湖南路": "一中队副中队长", "黄河路": "二中队中队长",
                  "长江路": "二中队副中队长", "中华路": "三中队中队长", "北京路": "三中队副中队长"}
        for road, title in squads.items():
            if road == "东昌东路":
                leader = officer("li.weidong", (1976, 1980), sex="M", name=("李", "卫东"))
                self.duty(leader, road, role.LINE_LEADER, dt.date(2019, 4, 1), note=title)
            elif road == "长江路":
                # retired in January 2023, the post is still vacant: a coverage gap with history
                self.duty(officer("line-changjiang", (1963, 1966), sex="M"), road, role.LINE_LEADER,
                          dt.date(2019, 3, 18), dt.date(2023, 1, 16), note=f"{title}（已退休，待补）")
            elif road == "北京路":
                self.duty(officer("line-beijing-old", (1972, 1980)), road, role.LINE_LEADER,
                          dt.date(2019, 4, 1), dt.date(2020, 7, 6), note=f"{title}（轮岗）")
                self.duty(officer("line-beijing", (1980, 1988)), road, role.LINE_LEADER, dt.date(2020, 7, 6),
                          note=title)
            else:
                self.duty(officer(f"line-{self.territory.codes[road]}", (1972, 1988)), road, role.LINE_LEADER, self.day(), note=title)

        # 民警包点段, often with an auxiliary (辅警) alongside who is not the primary holder
        posts = [n for n in self.territory.nodes if n.kind == NodeKind.POST]
        for number, post in enumerate(posts, start=1):
            if post.name == "东昌东路·振华超市路口":
                self.duty(officer("post-zhenhua-old"), post.name, role.POST_OFFICER, dt.date(2019, 2, 18),
                          dt.date(2020, 3, 2), note="民警（轮岗至黄河路）")
                self.duty(officer("zhang.hao", (1990, 1993), sex="M", name=("张", "浩")), post.name,
                          role.POST_OFFICER, dt.date(2020, 3, 2), note="民警")
                self.duty(officer("post-zhenhua-aux", (1994, 1999)), post.name, role.POST_OFFICER,
                          dt.date(2020, 5, 11), is_primary=False, note="辅警")
                continue
            if post.name == "黄河路·珠江路口":
                # the officer was transferred; only the auxiliary is left: a gap the report must show
                self.duty(officer("post-zhujiang-old"), post.name, role.POST_OFFICER, dt.date(2019, 5, 6),
                          dt.date(2022, 9, 1), note="民警（已调离）")
                self.duty(officer("post-zhujiang-aux", (1994, 1999)), post.name, role.POST_OFFICER,
                          dt.date(2019, 5, 6), is_primary=False, note="辅警")
                continue
            self.duty(officer(f"post-{number}"), post.name, role.POST_OFFICER, self.day(), note="民警")
            if self.rng.random() < 0.5:
                self.duty(officer(f"post-{number}-aux", (1993, 2000)), post.name, role.POST_OFFICER, self.day(),
                          is_primary=False, note="辅警")

    def administration(self) -> None:
        role = ResponsibilityRole
        fixed = {
            "十八里铺镇": ("xu.lixin", ("徐", "立新"), "M", "副镇长（扶贫专班）"),
            "顾官屯镇": ("liu.yuxia", ("刘", "玉霞"), "F", "党委委员（扶贫办）"),
        }
        towns = [n for n in self.territory.nodes if n.kind == NodeKind.TOWN]
        for town in towns:
            villages = self.territory.children(town.code, NodeKind.VILLAGE)
            seat = self.territory.children(villages[0].code, NodeKind.GRID)[:1] or villages[:1]
            home = seat[0]
            if town.name in fixed:
                key, name, sex, title = fixed[town.name]
                self.duty(self.staff(key, home=home, born=(1974, 1980), sex=sex, name=name), town.name,
                          role.TOWN_LEADER, self.day(dt.date(2019, 1, 2), dt.date(2019, 6, 28)), note=title)
            elif town.name == "朝城镇":
                self.duty(self.staff("town-chaocheng-old", home=home, born=(1962, 1968)), town.name,
                          role.TOWN_LEADER, dt.date(2017, 6, 5), dt.date(2020, 1, 13), note="副镇长（已调任）")
                self.duty(self.staff("town-chaocheng", home=home, born=(1975, 1985)), town.name, role.TOWN_LEADER,
                          dt.date(2020, 1, 13), note="副镇长")
            else:
                title = "办事处副主任" if town.name.endswith("街道") else "副镇长"
                self.duty(self.staff(f"town-{town.code}", home=home, born=(1970, 1985)), town.name,
                          role.TOWN_LEADER, self.day(), note=title)

            for village in villages:
                cadre_home = (self.territory.children(village.code, NodeKind.GRID) or [village])[0]
                if village.name == "郭屯":
                    continue  # never had a cadre: a gap without history
                if village.name == "徐庄":
                    self.duty(self.staff("xuzhuang-old", home=home, born=(1960, 1966)), village.name,
                              role.VILLAGE_CADRE, dt.date(2016, 9, 5), dt.date(2019, 10, 8), note="包村干部（已退休）")
                    self.duty(self.staff("xu.jianjun", home=cadre_home, born=(1978, 1983), sex="M", name=("徐", "建军")),
                              village.name, role.VILLAGE_CADRE, dt.date(2019, 10, 8), note="包村干部")
                    continue
                key = self.staff(f"cadre-{village.code}", home=cadre_home, born=(1968, 1992))
                if village.name == "黄河社区":
                    self.duty(key, village.name, role.VILLAGE_CADRE, dt.date(2019, 11, 4), dt.date(2021, 12, 31),
                              note="社区包联干部（已调任）")
                else:
                    note = "社区包联干部" if village.urban else "包村干部"
                    self.duty(key, village.name, role.VILLAGE_CADRE, self.day(), note=note)

        # 网格员 are villagers of their own grid: an adult of working age with a phone
        appointed_in = 2020  # ages as of when the grid workers were appointed
        for grid in (n for n in self.territory.nodes if n.kind == NodeKind.GRID):
            if grid.name == "徐庄第三网格":
                continue
            candidates = [
                p for p in self.people
                if p.home_code == grid.code and not p.staff and p.resident.phone
                and 28 <= appointed_in - p.resident.birth_date.year <= 55
            ]
            worker = self.rng.choice(candidates)
            self.duty(worker.key, grid.name, role.GRID_WORKER, self.day(), note="专职网格员")


def plan_demo(seed: int = DEMO_SEED) -> DemoPlan:
    """The whole demo world as data, the same for the same seed."""
    planner = _Planner(seed)
    planner.residents()
    planner.policing()
    planner.administration()
    return DemoPlan(nodes=planner.territory.nodes, people=planner.people, duties=planner.duties)


# ---------------------------------------------------------------------------------------------
# Building and removing


def demo_status() -> DemoStatus:
    """Whether the demo is in the database, found by its root node code (and told apart from a real
    371500 tree by the brigade's demo code)."""
    if not Node.objects.filter(code=DEMO_ROOT_CODE).exists():
        return DemoStatus.ABSENT
    if Node.objects.filter(code=DEMO_MARKER_CODE, path__startswith=_root().path).exists():
        return DemoStatus.PRESENT
    return DemoStatus.FOREIGN


def _root() -> Node:
    return Node.objects.get(code=DEMO_ROOT_CODE)


def _delete_with_dependents(queryset: models.QuerySet[Any], depth: int = 0) -> None:
    """Delete rows, first deleting rows of other apps that protect them (households, e-bikes… that
    sit on demo places are demo data too). The audit trail is never deleted: a row it protects
    makes the whole removal fail."""
    for _attempt in range(10):
        try:
            with transaction.atomic():
                queryset.delete()
            return
        except (ProtectedError, RestrictedError) as exc:
            blockers = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
            if depth > 8 or any(isinstance(blocker, AuditEvent) for blocker in blockers):
                raise
            by_model: dict[type[models.Model], list[Any]] = defaultdict(list)
            for blocker in blockers:
                by_model[type(blocker)].append(blocker.pk)
            for model, pks in by_model.items():
                _delete_with_dependents(model._default_manager.filter(pk__in=pks), depth + 1)
    raise ApplicationError(_("演示数据被其他记录引用，无法删除"))


def remove_demo() -> frozenset[str]:
    """Delete the demo tree with its people, responsibilities and grants. The demo accounts are
    kept, without grants, and their usernames returned for the rebuild to reconfigure: once anyone
    has signed in with them the append-only audit trail refers to them, and a rebuild sets a new
    password hash anyway, which ends their open sessions."""
    if demo_status() != DemoStatus.PRESENT:
        raise ApplicationError(_("没有可删除的演示数据"))
    root_path = _root().path
    with transaction.atomic():
        _delete_with_dependents(
            Assignment.objects.filter(Q(node__path__startswith=root_path) | Q(person__scope_path__startswith=root_path))
        )
        _delete_with_dependents(Person.objects.filter(scope_path__startswith=root_path))
        nodes = Node.objects.filter(path__startswith=root_path)
        # Node.parent is PROTECT: leaves first
        for depth in sorted(set(nodes.values_list("depth", flat=True)), reverse=True):
            _delete_with_dependents(Node.objects.filter(path__startswith=root_path, depth=depth))
        accounts = User.objects.filter(username__in=[login.username for login in DEMO_LOGINS])
        Grant.objects.filter(user__in=accounts).delete()
        kept = frozenset(accounts.values_list("username", flat=True))
        audit.record(
            actor=None, action=AuditAction.DELETE, object_type="demo.world", object_repr="聊城市演示数据",
            reason="civicgrid demo --reset",
        )
    return kept


def _create_people(plan: DemoPlan, nodes: dict[str, Node], advance: Callable[[int], object]) -> dict[str, Person]:
    """Register everyone; returns the people the duties and logins refer to, by plan key."""
    persons: dict[str, Person] = {}
    for planned in (p for p in plan.people if p.staff):
        resident = planned.resident
        persons[planned.key] = person_create(
            actor=None, id_number=resident.id_number, name=resident.name, sex=resident.sex,
            birth_date=resident.birth_date, phone=resident.phone, address=planned.address,
            address_node=nodes[planned.home_code],
        )
        advance(1)

    # Residents in bulk, a village at a time: person_create costs ~3 ms a row (audit + history
    # rows one by one); here every row is checked by the same validators, row history is written
    # in bulk and the audit trail gets one import event per village, as a ledger import would.
    residents: dict[str, list[PlannedPerson]] = defaultdict(list)
    for planned in plan.people:
        if not planned.staff:
            residents[planned.home_code].append(planned)
    wanted = {duty.person_key for duty in plan.duties} | {login.person_key for login in plan.logins}
    for home_code, group in residents.items():
        node = nodes[home_code]
        rows = []
        for planned in group:
            parsed = check_identity(
                planned.resident.id_number, sex=planned.resident.sex, birth_date=planned.resident.birth_date
            )
            rows.append(
                Person(
                    id_number=parsed.value, name=planned.resident.name, sex=parsed.sex, birth_date=parsed.birth_date,
                    phone=normalise_phone(planned.resident.phone), address_node=node, scope_path=node.path,
                    address=planned.address,
                )
            )
        created = bulk_create_with_history(rows, Person, batch_size=500, default_change_reason="civicgrid demo")
        by_id_number = {person.id_number: person for person in created}
        for planned in group:
            if planned.key in wanted:
                persons[planned.key] = by_id_number[planned.resident.id_number]
        audit.record(
            actor=None, action=AuditAction.IMPORT, object_type="people.person",
            object_repr=_("%(node)s 居民 %(count)s 人") % {"node": node.name, "count": len(rows)}, scope_path=node.path,
            after={"count": len(rows), "node": node.code},
        )
        advance(len(rows))
    return persons


def _create_accounts(plan: DemoPlan, nodes: dict[str, Node], persons: dict[str, Person],
                     reuse: frozenset[str], advance: Callable[[int], object]) -> None:
    # Hash once: the logins share one published password, and hashing it eleven times would
    # cost seconds of PBKDF2 for nothing.
    password_hash = make_password(DEMO_PASSWORD)
    for login in plan.logins:
        user = User.objects.filter(username=login.username).first()
        if user is not None and login.username not in reuse:
            raise ApplicationError(_("账号 %(username)s 已存在且不属于演示数据") % {"username": login.username})
        created = user is None
        user = user or User(username=login.username)
        user.role = login.role
        user.display_name = login.name
        user.department = login.department
        user.is_active = True
        validate_password(DEMO_PASSWORD, user)
        user.password = password_hash
        user.full_clean()
        user.save()
        audit.record(
            actor=None, action=AuditAction.CREATE if created else AuditAction.UPDATE, instance=user,
            after={"username": user.username, "role": user.role},
        )
        for code in login.scope:
            grant_add(actor=None, user=user, node=nodes[code])
        if login.person_key:
            person = persons[login.person_key]
            person.account = user
            person.save(update_fields=["account", "updated_at"])
            audit.record(
                actor=None, action=AuditAction.UPDATE, instance=person, before={"account": None},
                after={"account": user.username},
            )
        advance(1)


def build_demo(
    *, plan: DemoPlan | None = None, reset: bool = False, progress: Callable[[int], object] | None = None,
) -> DemoSummary:
    """Create the demo world (after removing an existing one if `reset`); one transaction."""
    plan = plan or plan_demo()

    def advance(steps: int) -> None:
        if progress is not None:
            progress(steps)

    with transaction.atomic():
        status = demo_status()
        if status == DemoStatus.FOREIGN:
            raise ApplicationError(
                _("编码 %(code)s 的节点已存在且不是演示数据，未做任何改动") % {"code": DEMO_ROOT_CODE}
            )
        reuse: frozenset[str] = frozenset()
        if status == DemoStatus.PRESENT:
            if not reset:
                raise ApplicationError(_("演示数据已存在"))
            reuse = remove_demo()

        nodes: dict[str, Node] = {}
        for planned in plan.nodes:
            nodes[planned.code] = node_create(
                actor=None, parent=nodes[planned.parent_code] if planned.parent_code else None, kind=planned.kind,
                code=planned.code, name=planned.name, geometry=planned.geometry,
            )
            advance(1)

        persons = _create_people(plan, nodes, advance)

        for duty in plan.duties:
            assignment = assignment_start(
                actor=None, person=persons[duty.person_key], node=nodes[duty.node_code], role=duty.role,
                valid_from=duty.valid_from, is_primary=duty.is_primary, note=duty.note,
            )
            if duty.valid_to is not None:
                assignment_end(actor=None, assignment=assignment, valid_to=duty.valid_to)
            advance(1)

        _create_accounts(plan, nodes, persons, reuse, advance)
        build_cases_demo(root_code=DEMO_ROOT_CODE)  # standard, a year of inspections, cases in every state
        build_indicator_history(root_code=DEMO_ROOT_CODE)  # last: after the cases demo, so its indicators count
        summary = demo_summary()
        audit.record(
            actor=None, action=AuditAction.CREATE, object_type="demo.world", object_repr="聊城市演示数据",
            scope_path=nodes[DEMO_ROOT_CODE].path,
            after={"nodes": sum(summary.nodes_by_kind.values()), "people": summary.people,
                   "assignments": summary.assignments, "reset": reset},
        )
    return summary


# ---------------------------------------------------------------------------------------------
# What is there


@dataclass(frozen=True)
class LoginRow:
    """One line of the printed login table."""

    username: str
    role: str
    name: str
    scope: str
    duty: str


@dataclass(frozen=True)
class DemoSummary:
    nodes_by_kind: dict[str, int]
    people: int
    minors: int
    assignments: int
    current_primary: int
    ended: int
    gaps: tuple[str, ...]
    logins: tuple[LoginRow, ...]


def _minor_cutoff(today: dt.date) -> dt.date:
    try:
        return today.replace(year=today.year - 14)
    except ValueError:  # 29 February
        return today.replace(year=today.year - 14, day=28)


def demo_summary() -> DemoSummary:
    """Counts of what the demo holds, its coverage gaps (through the coverage selector, as the
    county administrator sees them) and the login table."""
    root = _root()
    today = timezone.localdate()
    nodes = Node.objects.filter(path__startswith=root.path)
    by_kind = Counter(nodes.values_list("kind", flat=True))
    people = Person.objects.filter(scope_path__startswith=root.path)
    assignments = Assignment.objects.filter(node__path__startswith=root.path)
    admin = User.objects.filter(username=DEMO_LOGINS[0].username).first()
    gaps = tuple(coverage_gaps(actor=admin, root=root).order_by("code").values_list("name", flat=True)) if admin else ()
    rows = []
    users = {u.username: u for u in User.objects.filter(username__in=[login.username for login in DEMO_LOGINS])}
    for login in DEMO_LOGINS:
        user = users.get(login.username)
        scope = "、".join(
            Grant.objects.filter(user=user).order_by("node__path").values_list("node__name", flat=True)
        ) if user else ""
        rows.append(LoginRow(login.username, login.role_label, login.name, scope, login.duty))
    return DemoSummary(
        nodes_by_kind={kind: by_kind.get(kind, 0) for kind in NodeKind.values},
        people=people.count(),
        minors=people.filter(birth_date__gt=_minor_cutoff(today)).count(),
        assignments=assignments.count(),
        current_primary=assignments.filter(is_primary=True, valid_to__isnull=True).count(),
        ended=assignments.filter(valid_to__isnull=False).count(),
        gaps=gaps,
        logins=tuple(rows),
    )

