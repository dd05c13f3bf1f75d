"""The demo district: named places, valid people, logins with their scopes, deliberate coverage
gaps, point-in-area, and idempotence. The demo is built once for the module (it takes seconds)
and each test runs in a transaction on top of it."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from shapely.geometry import shape

from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Action, Role, role_allows
from civicgrid.accounts.selectors import audit_event_list
from civicgrid.core import idnumber
from civicgrid.core.models import AuditEvent
from civicgrid.demo import builder, places
from civicgrid.demo.residents import LIAOCHENG_COUNTY_REGIONS
from civicgrid.people.models import Person
from civicgrid.people.selectors import person_get, person_list
from civicgrid.people.services import PHONE_PATTERN
from civicgrid.territory.models import Assignment, Node, NodeKind, ResponsibilityRole
from civicgrid.territory.policies import grant_policy
from civicgrid.territory.selectors import (
    coverage_gaps,
    coverage_summary,
    node_at_point,
    node_get,
    node_list,
    node_roots,
)

LOGINS = {login.username: login for login in builder.DEMO_LOGINS}
# The responsibility a field account's person holds on its granted node.
HELD_ROLE = {
    Role.TOWN_OFFICER: ResponsibilityRole.TOWN_LEADER,
    Role.VILLAGE_CADRE: ResponsibilityRole.VILLAGE_CADRE,
    Role.BRIGADE_LEADER: ResponsibilityRole.ZONE_LEADER,
    Role.SQUAD_LEADER: ResponsibilityRole.LINE_LEADER,
    Role.OFFICER: ResponsibilityRole.POST_OFFICER,
}


@pytest.fixture(scope="module")
def demo_built(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        call_command("demo", quiet=True)
    yield
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def demo(demo_built: None, db: None) -> None:
    """The demo world, with this test's changes rolled back afterwards."""


def node(name: str) -> Node:
    return Node.objects.get(name=name)


def user(username: str) -> User:
    return User.objects.get(username=username)


def codes(queryset) -> set[str]:  # type: ignore[no-untyped-def]
    return set(queryset.values_list("code", flat=True))


def under(*names_or_codes: str) -> set[str]:
    """Codes of the subtrees under the given nodes, computed from paths without the selectors."""
    paths = [n.path for n in Node.objects.filter(code__in=names_or_codes)] + [
        n.path for n in Node.objects.filter(name__in=names_or_codes)
    ]
    return {n.code for n in Node.objects.all() if any(n.path.startswith(path) for path in paths)}


# -- planning ---------------------------------------------------------------------------------


def test_plan_is_deterministic_and_seeded() -> None:
    first, second = builder.plan_demo(), builder.plan_demo()
    assert first == second
    other = builder.plan_demo(seed=builder.DEMO_SEED + 1)
    assert [p.resident.id_number for p in other.people] != [p.resident.id_number for p in first.people]
    # the places do not depend on the seed, only the people do
    assert other.nodes == first.nodes


def test_plan_people_are_unique_and_families_share_a_surname() -> None:
    plan = builder.plan_demo()
    id_numbers = [p.resident.id_number for p in plan.people]
    assert len(id_numbers) == len(set(id_numbers))
    phones = [p.resident.phone for p in plan.people if p.resident.phone]
    assert len(phones) == len(set(phones))
    # children carry the head's surname
    by_address: dict[str, list[str]] = {}
    for planned in plan.people:
        if not planned.staff:
            by_address.setdefault(planned.address, []).append(planned.resident.name)
    for planned in plan.people:
        if planned.resident.relation in {"子", "女", "孙子", "孙女"}:
            head = by_address[planned.address][0]
            assert planned.resident.name[0] == head[0], (planned.address, by_address[planned.address])


# -- places and geometry ----------------------------------------------------------------------


def test_named_places_of_the_page(demo: None) -> None:
    city = node("聊城市")
    assert (city.kind, city.code, city.parent) == (NodeKind.CITY, "371500", None)
    development_zone = node("聊城经济技术开发区")
    high_tech_zone = node("聊城高新区")
    shenxian = node("莘县")
    for district in (development_zone, high_tech_zone, shenxian):
        assert (district.kind, district.parent) == (NodeKind.DISTRICT, city)
    assert shenxian.code == "371522"

    brigade = node("聊城开发区交警大队")
    assert (brigade.kind, brigade.parent) == (NodeKind.BRIGADE, development_zone)
    east_road = node("东昌东路")
    assert east_road.kind == NodeKind.LINE
    assert east_road.parent.kind == NodeKind.ZONE
    assert east_road.parent.parent == brigade
    supermarket = Node.objects.get(name__contains="振华超市")
    assert (supermarket.kind, supermarket.parent, supermarket.name) == (NodeKind.POST, east_road, "东昌东路·振华超市路口")
    assert Node.objects.filter(kind=NodeKind.POST, name="东昌东路·嫩江路口", parent=east_road).exists()
    for road in ("黄河路", "长江路", "湖南路", "中华路", "北京路"):
        assert node(road).kind == NodeKind.LINE

    shibalipu = node("十八里铺镇")
    assert (shibalipu.kind, shibalipu.parent) == (NodeKind.TOWN, shenxian)
    xuzhuang = node("徐庄")
    assert (xuzhuang.kind, xuzhuang.parent) == (NodeKind.VILLAGE, shibalipu)
    assert xuzhuang.children.filter(kind=NodeKind.GRID).count() == 3
    guguantun = node("顾官屯镇")
    assert (guguantun.kind, guguantun.parent) == (NodeKind.TOWN, high_tech_zone)
    zaozhai = node("枣寨村")
    assert (zaozhai.kind, zaozhai.parent) == (NodeKind.VILLAGE, guguantun)
    for street in ("蒋官屯街道", "北城街道", "东城街道"):
        assert node(street).parent == development_zone
        assert node(street).children.filter(kind=NodeKind.VILLAGE).count() >= 2
    assert shibalipu.children.count() >= 4
    assert guguantun.children.count() >= 4


def test_paths_follow_the_tree(demo: None) -> None:
    for each in Node.objects.select_related("parent"):
        expected = f"{each.parent.path if each.parent else '/'}{each.pk}/"
        assert each.path == expected
        assert each.depth == (each.parent.depth + 1 if each.parent else 0)


def test_geometry_kinds_and_containment(demo: None) -> None:
    expected_types = {
        NodeKind.CITY: {"Polygon"}, NodeKind.DISTRICT: {"Polygon"}, NodeKind.TOWN: {"Polygon"},
        NodeKind.VILLAGE: {"Polygon"}, NodeKind.GRID: {"Polygon"}, NodeKind.BRIGADE: {"Polygon"},
        NodeKind.ZONE: {"Polygon"}, NodeKind.LINE: {"LineString"}, NodeKind.POST: {"Point", "LineString"},
    }
    for each in Node.objects.select_related("parent"):
        assert each.geometry is not None, each.name
        assert each.geometry["type"] in expected_types[each.kind], each.name
        if each.parent is None:
            continue
        outer, inner = shape(each.parent.geometry), shape(each.geometry)
        if outer.geom_type == "Polygon":
            assert outer.covers(inner), (each.parent.name, each.name)
        else:  # a post (point or segment) lies on its line
            assert outer.buffer(1e-9).covers(inner), each.name
    # the traffic grid lies on the development zone's urban area
    lo_lon, lo_lat, hi_lon, hi_lat = 115.98, 36.42, 116.10, 36.50
    for each in Node.objects.filter(kind__in=[NodeKind.ZONE, NodeKind.LINE, NodeKind.POST]):
        assert lo_lon <= each.min_lon <= each.max_lon <= hi_lon, each.name
        assert lo_lat <= each.min_lat <= each.max_lat <= hi_lat, each.name


def test_administrative_siblings_do_not_overlap(demo: None) -> None:
    administrative = [NodeKind.DISTRICT, NodeKind.TOWN, NodeKind.VILLAGE, NodeKind.GRID]
    siblings: dict[int | None, list[Node]] = {}
    for each in Node.objects.filter(kind__in=administrative):
        siblings.setdefault(each.parent_id, []).append(each)
    for group in siblings.values():
        for i, first in enumerate(group):
            for second in group[i + 1:]:
                assert shape(first.geometry).intersection(shape(second.geometry)).area < 1e-12, (first.name, second.name)


# -- people -----------------------------------------------------------------------------------


def test_every_id_number_is_valid_and_agrees_with_the_record(demo: None) -> None:
    today = timezone.localdate()
    people = list(Person.objects.all())
    assert 1500 <= len(people) <= 3000
    for person in people:
        parsed = idnumber.parse(person.id_number, today=today)
        assert (parsed.sex, parsed.birth_date) == (person.sex, person.birth_date), person.pk
        assert parsed.region_code in LIAOCHENG_COUNTY_REGIONS
        assert int(person.id_number[16]) % 2 == (1 if person.sex == "M" else 0)
        if person.phone:
            assert PHONE_PATTERN.match(person.phone)


def test_region_codes_follow_where_people_live(demo: None) -> None:
    def regions(district: str) -> Counter[str]:
        return Counter(
            p.id_number[:6] for p in Person.objects.filter(scope_path__startswith=node(district).path)
        )

    shenxian = regions("莘县")
    assert shenxian.most_common(1)[0][0] == places.SHENXIAN_REGION
    assert shenxian[places.SHENXIAN_REGION] / sum(shenxian.values()) > 0.7
    for zone in ("聊城经济技术开发区", "聊城高新区"):
        counts = regions(zone)
        assert counts.most_common(1)[0][0] == places.DONGCHANGFU_REGION
        assert counts[places.DONGCHANGFU_REGION] / sum(counts.values()) > 0.7


def test_ages_names_and_phones_are_realistic(demo: None) -> None:
    today = timezone.localdate()
    people = list(Person.objects.all())
    ages = [person.age_on(today) for person in people]
    assert sum(age < 14 for age in ages) >= 50  # minors whose data is extra sensitive
    assert sum(age >= 70 for age in ages) >= 100
    assert min(p.birth_date.year for p in people) < 1945
    assert max(p.birth_date.year for p in people) > 2015
    sexes = Counter(p.sex for p in people)
    assert 0.4 < sexes["M"] / len(people) < 0.6
    surnames = [surname for surname, _ in Counter(p.name[0] for p in people).most_common(6)]
    assert {"王", "张", "李", "刘"} <= set(surnames)
    xuzhuang = Counter(p.name[0] for p in Person.objects.filter(scope_path__startswith=node("徐庄").path))
    assert xuzhuang.most_common(1)[0][0] == "徐"  # the clan the village is named after
    adults = [p for p in people if p.age_on(today) >= 18]
    assert sum(bool(p.phone) for p in adults) / len(adults) > 0.8
    assert not any(p.phone for p in people if p.age_on(today) < 12)
    assert all(2 <= len(p.name) <= 3 for p in people)


# -- responsibilities -------------------------------------------------------------------------


def test_most_nodes_have_responsible_people_with_history(demo: None) -> None:
    current = Assignment.objects.filter(valid_to__isnull=True)
    ended = Assignment.objects.filter(valid_to__isnull=False)
    assert ended.count() >= 5
    for assignment in current.filter(is_primary=True):
        assert dt.date(2019, 1, 1) <= assignment.valid_from <= dt.date(2020, 12, 31), assignment
    roles = set(current.values_list("role", flat=True))
    assert roles >= {
        ResponsibilityRole.ZONE_LEADER, ResponsibilityRole.LINE_LEADER, ResponsibilityRole.POST_OFFICER,
        ResponsibilityRole.TOWN_LEADER, ResponsibilityRole.VILLAGE_CADRE, ResponsibilityRole.GRID_WORKER,
        ResponsibilityRole.BRIGADE_HEAD,
    }
    # auxiliaries stand beside the primary officer at some posts
    assert current.filter(role=ResponsibilityRole.POST_OFFICER, is_primary=False).exists()
    # the predecessor at 振华超市 is history, ended the day 张浩 started
    supermarket = Node.objects.get(name__contains="振华超市")
    periods = list(
        Assignment.objects.filter(node=supermarket, is_primary=True).order_by("valid_from")
        .values_list("person__name", "valid_to")
    )
    assert len(periods) == 2
    assert periods[1] == ("张浩", None)
    assert periods[0][1] == dt.date(2020, 3, 2)
    # services wrote row history and audit rows (assignment_end writes no row history: it uses
    # a queryset update; its audit row carries the end date)
    assert Assignment.history.filter(history_type="+").count() == Assignment.objects.count()
    ended_audit = AuditEvent.objects.filter(object_type="territory.assignment", action="update")
    assert {int(e.object_id) for e in ended_audit} == set(ended.values_list("pk", flat=True))
    assert AuditEvent.objects.filter(object_type="territory.node", object_id=str(node("东昌东路").pk)).exists()


def test_coverage_report_has_exactly_the_deliberate_gaps(demo: None) -> None:
    admin = user("zhao.liangcheng")
    gaps = codes(coverage_gaps(actor=admin))
    assert gaps == builder.DEMO_GAPS
    assert coverage_summary(actor=admin)["gaps"] == len(builder.DEMO_GAPS) == 5
    kinds = {node(name).kind for name in builder.DEMO_GAP_NAMES}
    assert kinds == {NodeKind.POST, NodeKind.LINE, NodeKind.VILLAGE, NodeKind.GRID}
    # some gaps have history (someone left), one never had anyone
    assert Assignment.objects.filter(node=node("长江路"), valid_to__isnull=False).exists()
    assert not Assignment.objects.filter(node=node("郭屯")).exists()
    # an auxiliary still stands at 黄河路·珠江路口, but an auxiliary is not the primary holder
    assert Assignment.objects.filter(node=node("黄河路·珠江路口"), valid_to__isnull=True, is_primary=False).exists()
    # before the squad leader of 长江路 retired, the line was covered
    assert node("长江路").code not in codes(coverage_gaps(actor=admin, on=dt.date(2021, 6, 1)))
    # a scoped view of coverage sees only its own gaps
    assert codes(coverage_gaps(actor=user("xu.jianjun"))) == {node("徐庄第三网格").code}
    assert codes(coverage_gaps(actor=user("li.weidong"))) == set()


# -- logins and scopes ------------------------------------------------------------------------


def test_there_is_a_login_for_every_role(demo: None) -> None:
    assert {login.role for login in builder.DEMO_LOGINS} == set(Role.values)
    assert len({login.username for login in builder.DEMO_LOGINS}) == len(builder.DEMO_LOGINS)


@pytest.mark.parametrize("username", list(LOGINS))
def test_every_demo_login_signs_in(demo: None, client, username: str) -> None:  # type: ignore[no-untyped-def]
    response = client.post(reverse("login"), {"username": username, "password": builder.DEMO_PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("web:home")
    account = user(username)
    assert client.session["_auth_user_id"] == str(account.pk)
    assert account.role == LOGINS[username].role
    assert account.display_name == LOGINS[username].name
    assert not account.is_superuser
    assert not account.is_staff
    client.logout()
    wrong = client.post(reverse("login"), {"username": username, "password": "Demo-2026-xx"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("username", list(LOGINS))
def test_every_login_sees_exactly_its_scope(demo: None, username: str) -> None:
    login = LOGINS[username]
    account = user(username)
    granted = under(*login.scope)
    assert codes(node_roots(actor=account)) == (set(login.scope) if role_allows(login.role, Action.VIEW_TERRITORY) else set())
    expected_nodes = granted if role_allows(login.role, Action.VIEW_TERRITORY) else set()
    assert codes(node_list(actor=account)) == expected_nodes
    visible_people = set(person_list(actor=account).values_list("pk", flat=True))
    if role_allows(login.role, Action.VIEW_PEOPLE):
        paths = [n.path for n in Node.objects.filter(code__in=login.scope)]
        expected_people = {
            p.pk for p in Person.objects.all() if any(p.scope_path.startswith(path) for path in paths)
        }
        assert visible_people == expected_people
    else:
        assert visible_people == set()


def test_village_cadre_of_xuzhuang_sees_nothing_of_zaozhai(demo: None) -> None:
    cadre = user("xu.jianjun")
    visible = {n.name for n in node_list(actor=cadre)}
    assert visible == {"徐庄", "徐庄第一网格", "徐庄第二网格", "徐庄第三网格"}
    assert "枣寨村" not in visible
    assert "西李楼" not in visible
    with pytest.raises(Http404):
        node_get(actor=cadre, pk=node("枣寨村").pk)
    zaozhai_resident = Person.objects.filter(scope_path__startswith=node("枣寨村").path).first()
    assert zaozhai_resident is not None
    with pytest.raises(Http404):
        person_get(actor=cadre, pk=zaozhai_resident.pk)
    assert person_list(actor=cadre).count() == Person.objects.filter(scope_path__startswith=node("徐庄").path).count()
    # and the other way round
    officer = user("liu.yuxia")
    assert "枣寨村" in {n.name for n in node_list(actor=officer)}
    assert "徐庄" not in {n.name for n in node_list(actor=officer)}


def test_traffic_logins_see_their_zone_line_and_post(demo: None) -> None:
    brigade_leader = {n.name for n in node_list(actor=user("han.dongming"))}
    assert {"东昌东路片区", "东昌东路", "湖南路", "东昌东路·振华超市路口"} <= brigade_leader
    assert "黄河路" not in brigade_leader
    assert "聊城开发区交警大队" not in brigade_leader
    squad_leader = {n.name for n in node_list(actor=user("li.weidong"))}
    assert "东昌东路" in squad_leader
    assert "东昌东路·振华超市路口" in squad_leader
    assert "湖南路" not in squad_leader
    assert {n.name for n in node_list(actor=user("zhang.hao"))} == {"东昌东路·振华超市路口"}


def test_staff_accounts_are_the_responsible_people(demo: None) -> None:
    today = timezone.localdate()
    for login in builder.DEMO_LOGINS:
        account = user(login.username)
        if login.person_key is None:
            assert not Person.objects.filter(account=account).exists()
            continue
        person = Person.objects.get(account=account)
        assert person.name == login.name
        (scope_code,) = login.scope
        held = Assignment.objects.get(node__code=scope_code, role=HELD_ROLE[login.role], is_primary=True,
                                      valid_to__isnull=True)
        assert held.person == person
        assert held.valid_from <= today


def test_non_territory_roles(demo: None) -> None:
    system_admin = user("sun.hongwei")
    assert not node_list(actor=system_admin).exists()
    assert grant_policy.viewable(system_admin).count() == sum(len(login.scope) for login in builder.DEMO_LOGINS)
    auditor = user("gao.xiumei")
    assert not node_list(actor=auditor).exists()
    assert not person_list(actor=auditor).exists()
    assert audit_event_list(actor=auditor).exists()
    clerk = user("ma.lijuan")
    assert node_list(actor=clerk).filter(name="徐庄").exists()
    assert not person_list(actor=clerk).exists()  # a department clerk reads no residents


# -- point in area ----------------------------------------------------------------------------


def test_point_next_to_the_supermarket_finds_its_post(demo: None) -> None:
    admin = user("zhao.liangcheng")
    # about 9 m from the intersection
    found = node_at_point(actor=admin, lon=116.04203, lat=36.45608)
    assert found is not None
    assert found.name == "东昌东路·振华超市路口"
    assert node_at_point(actor=user("zhang.hao"), lon=116.04203, lat=36.45608) == found
    assert node_at_point(actor=user("xu.jianjun"), lon=116.04203, lat=36.45608) is None


def test_points_in_villages_grids_and_fields(demo: None) -> None:
    admin = user("zhao.liangcheng")
    grid = node("徐庄第二网格")
    centre = shape(grid.geometry).centroid
    assert node_at_point(actor=admin, lon=centre.x, lat=centre.y) == grid
    village = node("西李楼")
    centre = shape(village.geometry).centroid
    assert node_at_point(actor=admin, lon=centre.x, lat=centre.y) == village
    # farmland between villages belongs to the town
    town = node("十八里铺镇")
    west, _, _, north = shape(town.geometry).bounds
    assert node_at_point(actor=admin, lon=west + 0.001, lat=north - 0.001) == town


# -- the command ------------------------------------------------------------------------------


def _counts() -> tuple[int, ...]:
    return (
        Node.objects.count(), Person.objects.count(), Assignment.objects.count(),
        User.objects.filter(username__in=LOGINS).count(), sum(len(user(u).grants.all()) for u in LOGINS),
    )


def test_running_demo_again_changes_nothing(demo: None) -> None:
    before = _counts()
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert _counts() == before
    text = out.getvalue()
    assert "已存在" in text
    for login in builder.DEMO_LOGINS:
        assert login.username in text
        assert login.role_label in text
    assert builder.DEMO_PASSWORD in text


def test_reset_rebuilds_one_copy_even_after_logins(demo: None, client) -> None:  # type: ignore[no-untyped-def]
    # a sign-in leaves audit rows pointing at the account, which must not block the reset
    client.post(reverse("login"), {"username": "xu.jianjun", "password": builder.DEMO_PASSWORD})
    old_root = node("聊城市").pk
    before = _counts()
    out = io.StringIO()
    call_command("demo", reset=True, stdout=out)
    assert _counts() == before
    assert node("聊城市").pk != old_root
    assert "演示数据已创建" in out.getvalue()
    assert codes(coverage_gaps(actor=user("zhao.liangcheng"))) == builder.DEMO_GAPS
    assert Person.objects.get(account=user("xu.jianjun")).name == "徐建军"
    client.logout()
    response = client.post(reverse("login"), {"username": "xu.jianjun", "password": builder.DEMO_PASSWORD})
    assert response.status_code == 302


def test_quiet_prints_nothing(demo: None) -> None:
    out = io.StringIO()
    call_command("demo", quiet=True, stdout=out)
    assert out.getvalue() == ""
