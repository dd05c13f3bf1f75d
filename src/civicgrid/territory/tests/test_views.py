"""Territory pages: for each, an in-scope user (200), an out-of-scope object (404), a role without the
action (403) and anonymous (302 to login); then what the pages show, the coverage export, the
assignment writes, the point lookup, query budgets and the CSP-clean markup."""

import datetime as dt
import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from civicgrid.accounts.roles import Action, Role
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.territory import views
from civicgrid.territory.models import Assignment, NodeKind, ResponsibilityRole
from civicgrid.territory.services import assignment_start, node_update
from civicgrid.testing import factories

CADRE = ResponsibilityRole.VILLAGE_CADRE


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.fixture
def mapped(world):
    node_update(actor=None, node=world.district, geometry=square(116.0, 36.0, 116.4, 36.4))
    node_update(actor=None, node=world.town_a, geometry=square(116.0, 36.0, 116.2, 36.4))
    node_update(actor=None, node=world.town_b, geometry=square(116.2, 36.0, 116.4, 36.4))
    node_update(actor=None, node=world.village_a, geometry=square(116.05, 36.05, 116.15, 36.15))
    return world


def login(client, user):
    client.force_login(user)
    return client


# --- the matrix: every page × in scope / out of scope / role without the action / anonymous ---------

GET_PAGES = [
    ("territory:tree", None, Action.VIEW_TERRITORY),
    ("territory:node", "village", Action.VIEW_TERRITORY),
    ("territory:children", "town", Action.VIEW_TERRITORY),
    ("territory:coverage", "node_query", Action.VIEW_TERRITORY),
    ("territory:coverage_export", "node_query", Action.EXPORT),
    ("territory:assignments", None, Action.VIEW_TERRITORY),
    ("territory:locate", None, Action.VIEW_TERRITORY),
]
ROLE_WITHOUT = {Action.VIEW_TERRITORY: Role.AUDITOR, Action.EXPORT: Role.INSPECTOR,
                Action.MANAGE_ASSIGNMENTS: Role.INSPECTOR}


def page_url(name, kind, world, *, inside=True):
    village, town = (world.village_a, world.town_a) if inside else (world.village_b, world.town_b)
    if kind == "village":
        return reverse(name, args=[village.pk])
    if kind == "town":
        return reverse(name, args=[town.pk])
    if kind == "node_query":
        return f"{reverse(name)}?node={town.pk}"
    return reverse(name)


@pytest.mark.parametrize(("name", "kind", "action"), GET_PAGES)
def test_page_matrix(client, world, town_a_user, name, kind, action):
    url = page_url(name, kind, world)
    view = client.get(url)  # anonymous
    assert view.status_code == 302
    assert view["Location"].startswith(reverse("login"))

    login(client, town_a_user)
    assert client.get(url).status_code == 200
    if kind is not None:
        assert client.get(page_url(name, kind, world, inside=False)).status_code == 404

    other = factories.user_with_scope(ROLE_WITHOUT[action], world.district)
    assert login(Client(), other).get(url).status_code == 403


@pytest.mark.parametrize(
    ("name", "needs_pk"), [("territory:assignment_create", False), ("territory:assignment_end", True)]
)
def test_write_matrix(client, world, town_a_user, name, needs_pk):
    inside = assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE,
                              valid_from=dt.date(2024, 1, 1))
    outside = assignment_start(actor=None, person=world.person_b, node=world.village_b, role=CADRE,
                               valid_from=dt.date(2024, 1, 1))
    url = reverse(name, args=[inside.pk]) if needs_pk else reverse(name)
    assert client.post(url, {})["Location"].startswith(reverse("login"))
    inspector = factories.user_with_scope(Role.INSPECTOR, world.district)
    assert login(Client(), inspector).post(url, {}).status_code == 403
    login(client, town_a_user)
    assert client.get(url).status_code == 405
    if needs_pk:
        response = client.post(reverse(name, args=[outside.pk]), {"valid_to": "2024-06-01"})
        assert response.status_code == 404
        outside.refresh_from_db()
        assert outside.valid_to is None


def test_views_declare_their_actions():
    assert views.tree.required_action == Action.VIEW_TERRITORY
    assert views.coverage_export.required_action == Action.EXPORT
    assert views.assignment_create.required_action == Action.MANAGE_ASSIGNMENTS
    assert views.assignment_end.required_action == Action.MANAGE_ASSIGNMENTS


# --- the tree and the node page ----------------------------------------------------------------


def test_tree_shows_the_scope_roots_their_first_level_and_a_map_of_them(client, mapped, admin_user, town_a_user):
    body = login(client, town_a_user).get(reverse("territory:tree")).content.decode()
    assert "顾官屯镇" in body
    assert "枣寨村" in body  # the first level under a root comes with the page
    assert "许营镇" not in body
    data = re.search(r'<script id="map-data" type="application/json">(.*?)</script>', body).group(1)
    assert '"code": "371571100"' in data
    assert '"code": "371571100201"' in data
    assert "371571101" not in data
    assert "vendor/echarts.min.js" in body
    assert "web/map.js" in body

    body = login(Client(), admin_user).get(reverse("territory:tree")).content.decode()
    # Towns have villages: they load them on demand; the villages are not in the page yet.
    assert f'hx-get="{reverse("territory:children", args=[mapped.town_a.pk])}"' in body
    assert f'hx-get="{reverse("territory:children", args=[mapped.town_b.pk])}"' in body
    assert "枣寨村" not in body


def test_children_fragment_lists_children_with_status(client, world, admin_user):
    assignment_start(actor=None, person=world.person_a, node=world.town_a, role=ResponsibilityRole.TOWN_LEADER,
                     valid_from=dt.date(2024, 1, 1))
    body = login(client, admin_user).get(reverse("territory:children", args=[world.district.pk])).content.decode()
    assert "<html" not in body
    assert body.count('class="tree-item"') == 2
    assert body.count("已覆盖") == 1
    assert body.count("缺第一责任人") == 1


def test_node_page_shows_holders_history_chain_children_and_coverage(client, mapped, town_a_user):
    world = mapped
    grid = factories.node(world.village_a, NodeKind.GRID, "枣寨一网格", code="G1")
    assignment_start(actor=None, person=world.person_b, node=world.village_a, role=CADRE, valid_from=dt.date(2023, 1, 1))
    assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE, valid_from=dt.date(2024, 1, 1))
    assignment_start(actor=None, person=world.person_b, node=world.town_a, role=ResponsibilityRole.TOWN_LEADER,
                     valid_from=dt.date(2024, 1, 1))
    body = login(client, town_a_user).get(reverse("territory:node", args=[world.village_a.pk])).content.decode()
    assert f'<a href="{reverse("territory:node", args=[world.town_a.pk])}">顾官屯镇</a>' in body
    assert "高新区" not in body  # above the user's grant: not in the breadcrumb
    assert "2023-01-01" in body
    assert "2024-01-01" in body
    assert re.search(r"枣寨村 · 包村干部 · <strong>张秀英</strong>.*顾官屯镇 · 包镇领导 · <strong>李国庆</strong>", body, re.S)
    assert reverse("territory:node", args=[grid.pk]) in body
    assert '<div class="card-value">50.0%</div>' in body  # village covered, its grid not
    assert '"status": "focus"' in body


def test_node_map_outlines_a_parent_and_sets_a_leaf_on_its_parent(client, world, admin_user):
    import json

    brigade = factories.node(world.district, NodeKind.BRIGADE, "开发区交警大队", code="B1")
    zone = factories.node(brigade, NodeKind.ZONE, "东片", code="B1Z1")
    line = factories.node(zone, NodeKind.LINE, "东昌东路", code="B1Z1L1",
                          geometry={"type": "LineString", "coordinates": [[116.0, 36.45], [116.1, 36.45]]})
    post = factories.node(line, NodeKind.POST, "振华超市路口", code="B1Z1L1P1",
                          geometry={"type": "Point", "coordinates": [116.05, 36.45]})
    login(client, admin_user)

    def features(node):
        body = client.get(reverse("territory:node", args=[node.pk])).content.decode()
        data = re.search(r'<script id="map-data" type="application/json">(.*?)</script>', body).group(1)
        return [(f["properties"]["code"], f["properties"]["status"], f["properties"]["is_parent"])
                for f in json.loads(data)["features"]]

    assert features(line) == [("B1Z1L1", "focus", True), ("B1Z1L1P1", "gap", False)]
    assert features(post) == [("B1Z1L1", "context", False), ("B1Z1L1P1", "focus", False)]


def test_node_page_query_budget(client, mapped, admin_user, django_assert_max_num_queries):
    for index in range(15):
        factories.node(mapped.village_a, NodeKind.GRID, f"网格{index}", code=f"G{index:02d}")
    login(client, admin_user)
    with django_assert_max_num_queries(14):
        assert client.get(reverse("territory:node", args=[mapped.village_a.pk])).status_code == 200


def test_tree_query_budget(client, mapped, admin_user, django_assert_max_num_queries):
    for index in range(15):
        factories.node(mapped.district, NodeKind.TOWN, f"镇{index}", code=f"T{index:02d}")
    login(client, admin_user)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("territory:tree")).status_code == 200


# --- coverage ----------------------------------------------------------------------------------


def test_coverage_page_lists_the_gaps_with_parent_path_and_missing_role(client, world, admin_user):
    assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE, valid_from=dt.date(2024, 1, 1))
    body = login(client, admin_user).get(reverse("territory:coverage"), {"node": world.town_a.pk}).content.decode()
    assert '<div class="card-value">50.0%</div>' in body
    assert "<td>镇/街道</td><td><code>371571100</code></td>" in body
    assert "<td>高新区</td><td><span class=\"badge bad\">包镇领导</span></td>" in body
    listed = body.split("缺少第一责任人的节点")[1]
    assert "371571100201" not in listed  # covered, so not listed
    assert "371571101" not in listed  # another town: outside the chosen subtree


def test_coverage_page_as_of_a_date(client, world, admin_user):
    assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE, valid_from=dt.date(2024, 1, 1))
    login(client, admin_user)
    before = client.get(reverse("territory:coverage"), {"node": world.village_a.pk, "on": "2023-12-31"})
    after = client.get(reverse("territory:coverage"), {"node": world.village_a.pk, "on": "2024-01-01"})
    assert '<div class="card-value">0.0%</div>' in before.content.decode()
    assert '<div class="card-value">100.0%</div>' in after.content.decode()


def test_coverage_page_query_budget(client, world, admin_user, django_assert_max_num_queries):
    for index in range(30):
        factories.node(world.village_a, NodeKind.GRID, f"网格{index}", code=f"G{index:02d}")
    login(client, admin_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("territory:coverage"))
    assert response.content.decode().count('<span class="badge bad">网格员</span>') == 30


def test_coverage_export_is_a_safe_workbook_and_is_audited(client, world, admin_user):
    factories.node(world.village_a, NodeKind.GRID, '=HYPERLINK("http://evil.example","点我")', code="G1")
    assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE, valid_from=dt.date(2024, 1, 1))
    response = login(client, admin_user).get(reverse("territory:coverage_export"), {"node": world.town_a.pk})
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment;" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["汇总", "缺口清单"]
    gaps = [[cell.value for cell in row] for row in book["缺口清单"].iter_rows()]
    assert gaps == [
        ["类型", "编码", "名称", "上级路径", "缺少的责任角色"],
        ["镇/街道", "371571100", "顾官屯镇", "高新区", "包镇领导"],
        ["网格", "G1", '\'=HYPERLINK("http://evil.example","点我")', "高新区 / 顾官屯镇 / 枣寨村", "网格员"],
    ]
    assert book["缺口清单"]["C3"].data_type == "s"
    summary = {row[0].value: row[1].value for row in book["汇总"].iter_rows(min_row=2)}
    assert summary["范围"] == "顾官屯镇"
    assert (summary["需配第一责任人的节点"], summary["已覆盖"], summary["缺口"]) == (3, 1, 2)
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert (event.actor_username, event.object_type, event.scope_path) == (
        "county_admin", "territory.coverage", world.town_a.path
    )
    assert event.after == {"rows": 2, "on": timezone.localdate().isoformat(), "node": "371571100"}


# --- assignments -------------------------------------------------------------------------------


def test_assignments_list_filters_current_all_and_as_of(client, world, admin_user):
    assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE, valid_from=dt.date(2023, 1, 1))
    assignment_start(actor=None, person=world.person_b, node=world.village_a, role=CADRE, valid_from=dt.date(2024, 1, 1))
    login(client, admin_user)
    url = reverse("territory:assignments")
    current = client.get(url).content.decode()
    assert "李国庆" in current
    assert "张秀英" not in current
    everything = client.get(url, {"period": "all"}).content.decode()
    assert "李国庆" in everything
    assert "张秀英" in everything
    as_of = client.get(url, {"period": "on", "on": "2023-06-01"}).content.decode()
    assert "张秀英" in as_of
    assert "李国庆" not in as_of
    other_town = client.get(url, {"period": "all", "node": world.town_b.pk}).content.decode()
    assert "张秀英" not in other_town
    assert "李国庆" not in other_town


def test_assignments_list_query_budget(client, world, admin_user, django_assert_max_num_queries):
    for index in range(20):
        grid = factories.node(world.village_a, NodeKind.GRID, f"网格{index}", code=f"G{index:02d}")
        person = factories.person(world.village_a, name=f"网格员{index}")
        assignment_start(actor=None, person=person, node=grid, role=ResponsibilityRole.GRID_WORKER,
                         valid_from=dt.date(2024, 1, 1))
    login(client, admin_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("territory:assignments"))
    assert response.content.decode().count('class="badge ok">在任<') == 20


def test_assign_a_person_through_the_form(client, world, town_a_user):
    response = login(client, town_a_user).post(
        reverse("territory:assignment_create"),
        {"node": world.village_a.code, "person": world.person_a.pk, "role": CADRE, "valid_from": "2024-02-01",
         "is_primary": "on", "note": "乡镇党委决定"},
    )
    assert response.status_code == 302
    assignment = Assignment.objects.get()
    assert (assignment.node, assignment.person, assignment.role, assignment.valid_from, assignment.note) == (
        world.village_a, world.person_a, CADRE, dt.date(2024, 2, 1), "乡镇党委决定"
    )
    assert "已安排 张秀英 为 枣寨村 的包村干部。" in client.get(response["Location"]).content.decode()


def test_assign_form_shows_the_service_refusal_not_a_500(client, world, town_a_user):
    assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE, valid_from=dt.date(2024, 5, 1))
    other = factories.person(world.village_a, name="王秀兰")
    response = login(client, town_a_user).post(
        reverse("territory:assignment_create"),
        {"node": world.village_a.code, "person": other.pk, "role": CADRE, "valid_from": "2024-04-01",
         "is_primary": "on"},
    )
    assert response.status_code == 400
    assert "现任责任人自 2024-05-01 起任职，新任起始日期须晚于该日期" in response.content.decode()
    assert Assignment.objects.count() == 1


def test_assign_form_refuses_a_person_or_node_outside_the_scope(client, world, town_a_user):
    response = login(client, town_a_user).post(
        reverse("territory:assignment_create"),
        {"node": world.village_b.code, "person": world.person_b.pk, "role": CADRE, "valid_from": "2024-04-01"},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"node", "person"}
    assert Assignment.objects.count() == 0


def test_person_search_fills_the_assign_form_options(client, world, town_a_user):
    body = login(client, town_a_user).get(reverse("territory:assignments"), {"person_q": "张"}).content.decode()
    assert f'<option value="{world.person_a.pk}">张秀英 · 371502********' in body
    assert "李国庆" not in body


def test_end_an_assignment_and_see_the_refusal_of_a_second_end(client, world, town_a_user):
    assignment = assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE,
                                  valid_from=dt.date(2024, 1, 1))
    login(client, town_a_user)
    url = reverse("territory:assignment_end", args=[assignment.pk])
    response = client.post(url, {"valid_to": "2024-03-01", "next": "https://evil.example/"})
    assert response["Location"] == reverse("territory:assignments")
    assignment.refresh_from_db()
    assert assignment.valid_to == dt.date(2024, 3, 1)
    again = client.post(url, {"valid_to": "2024-04-01"}, follow=True)
    assert "该包干责任已于 2024-03-01 终止" in again.content.decode()
    assignment.refresh_from_db()
    assert assignment.valid_to == dt.date(2024, 3, 1)


def test_writes_need_the_csrf_token(world, town_a_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(town_a_user)
    response = client.post(
        reverse("territory:assignment_create"),
        {"node": world.village_a.code, "person": world.person_a.pk, "role": CADRE, "valid_from": "2024-02-01"},
    )
    assert response.status_code == 403
    assert Assignment.objects.count() == 0


# --- locate ------------------------------------------------------------------------------------


def test_locate_finds_the_deepest_node_and_its_holders(client, mapped, town_a_user):
    assignment_start(actor=None, person=mapped.person_a, node=mapped.village_a, role=CADRE,
                     valid_from=dt.date(2024, 1, 1))
    login(client, town_a_user)
    body = client.get(reverse("territory:locate"), {"lon": "116.1", "lat": "36.1"}).content.decode()
    assert f'<a href="{reverse("territory:node", args=[mapped.village_a.pk])}">枣寨村</a>' in body
    assert "<strong>张秀英</strong>" in body
    assert '"status": "marker"' in body
    outside = client.get(reverse("territory:locate"), {"lon": "116.3", "lat": "36.1"}).content.decode()
    assert "该点不在您数据范围内的任何节点中。" in outside
    bad = client.get(reverse("territory:locate"), {"lon": "200", "lat": "36.1"})
    assert bad.status_code == 200
    assert "经度" in bad.context["form"].errors.as_text() or "lon" in bad.context["form"].errors


# --- CSP: no inline script or style in any page -------------------------------------------------


def test_pages_have_no_inline_script_or_style(client, mapped, admin_user):
    assignment_start(actor=None, person=mapped.person_a, node=mapped.village_a, role=CADRE,
                     valid_from=dt.date(2024, 1, 1))
    login(client, admin_user)
    for url in [
        reverse("territory:tree"), reverse("territory:node", args=[mapped.village_a.pk]),
        reverse("territory:coverage"), reverse("territory:assignments"),
        f"{reverse('territory:locate')}?lon=116.1&lat=36.1",
    ]:
        body = client.get(url).content.decode()
        assert " style=" not in body, url
        assert "<style" not in body, url
        for tag in re.findall(r"<script[^>]*>", body):
            assert ' src="/static/' in tag or 'type="application/json"' in tag, (url, tag)
        assert "http://" not in body.replace("http://evil", ""), url  # no CDN


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/territory/nodes/99999999999999999999999/", 404),
        ("/territory/coverage/?node=99999999999999999999999", 404),
        ("/territory/coverage/?node=abc", 404),
        ("/territory/coverage/?on=2024-13-01", 200),
        ("/territory/assignments/?node=99999999999999999999999", 200),
        ("/territory/assignments/?person_q=%00", 200),
        ("/territory/locate/?lon=nan&lat=1", 200),
        ("/people/99999999999999999999999/", 404),
        ("/people/?q=%00", 200),
        ("/people/options/?q=%00", 200),
    ],
)
def test_hostile_input_gets_an_answer_not_a_500(world, admin_user, url, status):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    assert client.get(url).status_code == status
