"""Territory API: each endpoint with an in-scope user (200), an out-of-scope object (404), a role
without the action (403) and anonymous (401); then payloads, coverage, locate, the assignment writes
(400 with the service's message, CSRF enforced)."""

import datetime as dt
import json

import pytest
from django.test import Client

from civicgrid.accounts.roles import Role
from civicgrid.territory.models import Assignment, NodeKind, ResponsibilityRole
from civicgrid.territory.services import assignment_start, node_update
from civicgrid.testing import factories

CADRE = ResponsibilityRole.VILLAGE_CADRE


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


READS = [
    ("/api/territory/nodes", None),
    ("/api/territory/nodes/{village}", "village"),
    ("/api/territory/nodes/{town}/children", "town"),
    ("/api/territory/coverage?node={town}", "town"),
    ("/api/territory/locate?lon=116.1&lat=36.1", None),
    ("/api/territory/assignments?node={town}", "town"),
]


def fill(template, world, *, inside=True):
    village, town = (world.village_a, world.town_a) if inside else (world.village_b, world.town_b)
    return template.format(village=village.pk, town=town.pk)


@pytest.mark.parametrize(("template", "kind"), READS)
def test_read_matrix(client, world, town_a_user, template, kind):
    url = fill(template, world)
    assert client.get(url).status_code == 401
    assert signed_in(town_a_user).get(url).status_code == 200
    if kind is not None:
        response = signed_in(town_a_user).get(fill(template, world, inside=False))
        assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})
    auditor = factories.user_with_scope(Role.AUDITOR, world.district)
    assert signed_in(auditor).get(url).status_code == 403


def test_nodes_list_is_scoped_filtered_and_paginated(world, admin_user, town_a_user):
    body = signed_in(town_a_user).get("/api/territory/nodes").json()
    assert body["count"] == 2
    assert [item["code"] for item in body["items"]] == ["371571100", "371571100201"]
    assert body["items"][0] == {
        "id": world.town_a.pk, "code": "371571100", "name": "顾官屯镇", "kind": "town", "kind_label": "镇/街道",
        "parent_id": world.district.pk, "depth": 1, "path": world.town_a.path,
    }
    admin = signed_in(admin_user)
    assert [i["code"] for i in admin.get("/api/territory/nodes?kind=village").json()["items"]] == [
        "371571100201", "371571101201"
    ]
    assert [i["code"] for i in admin.get("/api/territory/nodes?search=许营").json()["items"]] == ["371571101"]
    assert [i["code"] for i in admin.get(f"/api/territory/nodes?root={world.town_b.pk}").json()["items"]] == [
        "371571101", "371571101201"
    ]
    page = admin.get("/api/territory/nodes?page=2&page_size=2").json()
    assert (page["count"], [i["code"] for i in page["items"]]) == (5, ["371571100201", "371571101"])  # path order
    assert signed_in(town_a_user).get(f"/api/territory/nodes?root={world.town_b.pk}").status_code == 404
    assert admin.get("/api/territory/nodes?kind=planet").status_code == 422


def test_node_detail_has_breadcrumb_holders_chain_and_coverage(world, town_a_user):
    node_update(actor=None, node=world.village_a, geometry=square(116.05, 36.05, 116.15, 36.15))
    cadre = assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE,
                             valid_from=dt.date(2024, 1, 1))
    body = signed_in(town_a_user).get(f"/api/territory/nodes/{world.village_a.pk}").json()
    assert body["ancestors"] == [{"id": world.town_a.pk, "code": "371571100", "name": "顾官屯镇"}]
    assert body["geometry"]["type"] == "Polygon"
    assert body["current"] == [
        {
            "id": cadre.pk, "node": {"id": world.village_a.pk, "code": "371571100201", "name": "枣寨村"},
            "person": {"id": world.person_a.pk, "name": "张秀英"}, "role": "village_cadre", "role_label": "包村干部",
            "is_primary": True, "valid_from": "2024-01-01", "valid_to": None, "note": "",
        }
    ]
    assert [item["id"] for item in body["chain"]] == [cadre.pk]
    assert body["coverage"] == {"needing": 1, "covered": 1, "gaps": 0, "percent": 100.0}


def test_children_carry_coverage_status(world, admin_user):
    assignment_start(actor=None, person=world.person_a, node=world.town_a, role=ResponsibilityRole.TOWN_LEADER,
                     valid_from=dt.date(2024, 1, 1))
    body = signed_in(admin_user).get(f"/api/territory/nodes/{world.district.pk}/children").json()
    assert [(c["code"], c["needs_holder"], c["is_covered"], c["has_children"]) for c in body] == [
        ("371571100", True, True, True), ("371571101", True, False, True)
    ]


def test_coverage_summary_and_gaps_as_of_a_date(world, admin_user):
    factories.node(world.village_a, NodeKind.GRID, "一网格", code="G1")
    assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE, valid_from=dt.date(2024, 1, 1))
    client = signed_in(admin_user)
    body = client.get(f"/api/territory/coverage?node={world.town_a.pk}&on=2024-06-01").json()
    assert body["on"] == "2024-06-01"
    assert body["node"] == {"id": world.town_a.pk, "code": "371571100", "name": "顾官屯镇"}
    assert body["summary"] == {"needing": 3, "covered": 1, "gaps": 2, "percent": 33.3}
    assert body["count"] == 2
    assert body["items"][1] == {
        "id": body["items"][1]["id"], "code": "G1", "name": "一网格", "kind": "grid", "kind_label": "网格",
        "parent_path": "高新区 / 顾官屯镇 / 枣寨村", "missing_role": "grid_worker", "missing_role_label": "网格员",
    }
    earlier = client.get(f"/api/territory/coverage?node={world.town_a.pk}&on=2023-06-01").json()
    assert earlier["summary"]["gaps"] == 3


def test_locate_deepest_node_or_null(world, admin_user, town_a_user):
    node_update(actor=None, node=world.town_a, geometry=square(116.0, 36.0, 116.2, 36.4))
    node_update(actor=None, node=world.village_a, geometry=square(116.05, 36.05, 116.15, 36.15))
    node_update(actor=None, node=world.town_b, geometry=square(116.2, 36.0, 116.4, 36.4))
    assert signed_in(admin_user).get("/api/territory/locate?lon=116.1&lat=36.1").json()["node"]["code"] == "371571100201"
    assert signed_in(admin_user).get("/api/territory/locate?lon=116.1&lat=36.3").json()["node"]["code"] == "371571100"
    assert signed_in(town_a_user).get("/api/territory/locate?lon=116.3&lat=36.3").json() == {"node": None}
    assert signed_in(admin_user).get("/api/territory/locate?lon=181&lat=36.3").status_code == 422


def test_assignments_list_current_or_all(world, admin_user):
    assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE, valid_from=dt.date(2023, 1, 1))
    assignment_start(actor=None, person=world.person_b, node=world.village_a, role=CADRE, valid_from=dt.date(2024, 1, 1))
    client = signed_in(admin_user)
    assert [i["person"]["name"] for i in client.get("/api/territory/assignments").json()["items"]] == ["李国庆"]
    every = client.get("/api/territory/assignments?current=false").json()
    assert (every["count"], [i["person"]["name"] for i in every["items"]]) == (2, ["李国庆", "张秀英"])
    as_of = client.get("/api/territory/assignments?on=2023-03-01").json()
    assert [i["person"]["name"] for i in as_of["items"]] == ["张秀英"]
    assert client.get("/api/territory/assignments?role=zone_leader").json()["count"] == 0


def post_json(client, url, payload):
    return client.post(url, data=json.dumps(payload), content_type="application/json")


def test_create_assignment(world, town_a_user):
    payload = {"node_id": world.village_a.pk, "person_id": world.person_a.pk, "role": "village_cadre",
               "valid_from": "2024-02-01", "note": " 党委决定 "}
    response = post_json(signed_in(town_a_user), "/api/territory/assignments", payload)
    assert response.status_code == 201
    created = Assignment.objects.get()
    assert response.json()["id"] == created.pk
    assert (created.person, created.node, created.note, created.valid_from) == (
        world.person_a, world.village_a, "党委决定", dt.date(2024, 2, 1)
    )


def test_create_assignment_refusals(world, town_a_user):
    client = signed_in(town_a_user)
    base = {"node_id": world.village_a.pk, "person_id": world.person_a.pk, "role": "village_cadre",
            "valid_from": "2024-02-01"}
    assert post_json(client, "/api/territory/assignments", {**base, "node_id": world.village_b.pk}).status_code == 404
    assert post_json(client, "/api/territory/assignments", {**base, "person_id": world.person_b.pk}).status_code == 404
    assert post_json(client, "/api/territory/assignments", {**base, "role": "boss"}).status_code == 422
    assert post_json(client, "/api/territory/assignments", base).status_code == 201
    other = factories.person(world.village_a, name="王秀兰")
    refused = post_json(client, "/api/territory/assignments", {**base, "person_id": other.pk, "valid_from": "2024-01-15"})
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "现任责任人自 2024-02-01 起任职，新任起始日期须晚于该日期"
    }
    inspector = factories.user_with_scope(Role.INSPECTOR, world.district)
    assert post_json(signed_in(inspector), "/api/territory/assignments", base).status_code == 403
    assert post_json(Client(), "/api/territory/assignments", base).status_code == 401
    assert Assignment.objects.count() == 1


def test_end_assignment(world, town_a_user):
    inside = assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE,
                              valid_from=dt.date(2024, 1, 1))
    outside = assignment_start(actor=None, person=world.person_b, node=world.village_b, role=CADRE,
                               valid_from=dt.date(2024, 1, 1))
    client = signed_in(town_a_user)
    ended = post_json(client, f"/api/territory/assignments/{inside.pk}/end", {"valid_to": "2024-03-01"})
    assert (ended.status_code, ended.json()["valid_to"]) == (200, "2024-03-01")
    again = post_json(client, f"/api/territory/assignments/{inside.pk}/end", {"valid_to": "2024-04-01"})
    assert again.status_code == 400
    assert post_json(client, f"/api/territory/assignments/{outside.pk}/end", {"valid_to": "2024-03-01"}).status_code == 404


def test_posts_enforce_csrf(world, town_a_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(town_a_user)
    payload = {"node_id": world.village_a.pk, "person_id": world.person_a.pk, "role": "village_cadre",
               "valid_from": "2024-02-01"}
    assert post_json(client, "/api/territory/assignments", payload).status_code == 403
    assert Assignment.objects.count() == 0


def test_openapi_schema_lists_the_endpoints(world, admin_user):
    paths = signed_in(admin_user).get("/api/openapi.json").json()["paths"]
    assert {
        "/api/territory/nodes", "/api/territory/nodes/{node_id}", "/api/territory/nodes/{node_id}/children",
        "/api/territory/coverage", "/api/territory/locate", "/api/territory/assignments",
        "/api/territory/assignments/{assignment_id}/end", "/api/people", "/api/people/{person_id}",
    } <= set(paths)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/territory/nodes/99999999999999999999999", 404),
        ("/api/territory/nodes/abc", 422),
        ("/api/territory/nodes?page=99999999999999999999999", 200),
        ("/api/territory/nodes?page=0", 422),
        ("/api/territory/nodes?search=%00x", 422),
        ("/api/people?search=%00x", 422),
        ("/api/people/99999999999999999999999", 404),
        ("/api/territory/coverage?node=99999999999999999999999", 404),
        ("/api/territory/locate?lon=nan&lat=36", 422),
        ("/api/territory/locate?lon=inf&lat=36", 422),
        ("/api/territory/coverage?on=2024-13-01", 422),
    ],
)
def test_hostile_input_gets_4xx_not_5xx(world, admin_user, url, status):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    assert client.get(url).status_code == status


def test_a_page_past_the_end_is_empty(world, admin_user):
    assert signed_in(admin_user).get("/api/territory/nodes?page=9").json() == {"count": 5, "items": []}
