"""Cases API: queues and detail in scope, each transition with its version, the photo upload, the
documented errors (400/403/404), inspections created, recorded and completed, the standards catalogue."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.cases import services
from civicgrid.cases.models import Case, CaseStatus
from civicgrid.cases.tests.factories import photo, published_standard
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db
API = "/api/cases"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, path: str, body: dict) -> tuple[int, dict]:
    response = client.post(API + path, json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def open_case(node, title="斑马线前未礼让行人") -> Case:
    return services.case_open(actor=None, node=node, title=title, category="路口秩序",
                              deadline=timezone.localdate() + dt.timedelta(days=5))


def test_queues_and_detail(grid, world):
    case = open_case(grid.post)
    triage = open_case(grid.vacant_post, "护栏缺失")
    officer = client_for(grid.officer_user)
    mine = officer.get(API + "/", {"queue": "my"}).json()
    assert (mine["count"], mine["items"][0]["id"], mine["items"][0]["assignee"]) == (1, case.pk, "zhang.hao")
    leader = client_for(grid.line_leader_user)
    listed = leader.get(API + "/", {"queue": "triage"}).json()
    assert [item["id"] for item in listed["items"]] == [triage.pk]
    assert listed["items"][0]["triage_reason"].startswith("东昌东路·嫩江路口当前没有包点段民警")
    detail = officer.get(f"{API}/{case.pk}").json()
    assert (detail["status"], detail["version"], detail["actions"]) == ("assigned", 1, ["start"])
    assert [event["kind"] for event in detail["events"]] == ["open", "route"]
    outsider = factories.user_with_scope(Role.SQUAD_LEADER, world.town_b, username="outsider")
    assert client_for(outsider).get(f"{API}/{case.pk}").status_code == 404
    assert client_for(outsider).get(API + "/", {"node": grid.post.pk}).status_code == 404


def test_transitions_with_versions_photos_and_cross_verification(grid):
    case = open_case(grid.post)
    officer = client_for(grid.officer_user)
    assert post(officer, f"/{case.pk}/start", {"version": 1, "note": "已到场"})[1]["status"] == "in_progress"
    response = officer.post(f"{API}/{case.pk}/submit", {"version": 2, "note": "已整改", "photos": [photo()],
                                                        "lon": "116.042", "lat": "36.456"})
    body = response.json()
    assert (response.status_code, body["status"], len(body["after"])) == (200, "submitted", 1)
    assert body["after"][0]["url"] == f"/cases/evidence/{body['after'][0]['id']}/"
    # the one who made the fix cannot verify it, even with a verifying role
    grid.officer_user.role = Role.SQUAD_LEADER
    grid.officer_user.save()
    status, error = post(officer, f"/{case.pk}/verify", {"version": 3})
    assert (status, error) == (400, {"detail": "整改人不能核查自己提交的整改（交叉复核）"})
    leader = client_for(grid.line_leader_user)
    status, error = post(leader, f"/{case.pk}/verify", {"version": 2})
    assert (status, error["detail"]) == (400, services.STALE)
    status, body = post(leader, f"/{case.pk}/reject", {"version": 3, "reason": "标线不清"})
    assert (status, body["status"], body["rejection_count"]) == (200, "in_progress", 1)
    response = officer.post(f"{API}/{case.pk}/submit", {"version": 4, "photos": [photo()]})
    assert response.status_code == 200
    status, body = post(client_for(grid.inspector), f"/{case.pk}/verify", {"version": 5})
    assert (status, body["status"], body["closed_on_time"]) == (200, "closed", True)
    status, error = post(leader, f"/{case.pk}/cancel", {"version": 6, "reason": "x"})
    assert (status, error["detail"]) == (400, "问题当前状态为“已销号”，不能撤销")


def test_submit_refuses_what_is_not_an_image(grid):
    case = open_case(grid.post)
    services.case_start(actor=grid.officer_user, case=case, version=1)
    fake = SimpleUploadedFile("a.png", b"<svg xmlns='http://www.w3.org/2000/svg'/>", content_type="image/png")
    response = client_for(grid.officer_user).post(f"{API}/{case.pk}/submit", {"version": 2, "photos": [fake]})
    assert (response.status_code, response.json()["detail"]) == (
        400, "上传的文件不是图片，仅支持 JPEG、PNG、WebP 照片"
    )


def test_assign_and_cancel_need_a_manager(grid):
    case = open_case(grid.vacant_post)
    officer = client_for(grid.officer_user)
    status, error = post(officer, f"/{case.pk}/assign", {"version": 1, "person_id": grid.auxiliary.pk})
    assert (status, error) == (403, {"detail": "无权执行该操作。"})
    leader = client_for(grid.line_leader_user)
    status, body = post(leader, f"/{case.pk}/assign", {"version": 1, "person_id": grid.auxiliary.pk})
    assert (status, body["responsible_person"]["name"], body["needs_triage"]) == (200, "王小兵", False)
    assert post(leader, f"/{case.pk}/assign", {"version": 2, "person_id": 10**12})[0] == 404
    status, body = post(leader, f"/{case.pk}/cancel", {"version": 2, "reason": "误报"})
    assert (status, body["status"]) == (200, "cancelled")


def test_inspection_create_record_complete(grid):
    version = published_standard()
    client = client_for(grid.inspector)
    today = timezone.localdate().isoformat()
    status, error = post(client, "/inspections", {"version_id": version.pk, "node_id": grid.zone.pk,
                                                  "inspected_on": today})
    assert status == 400
    assert error["detail"].startswith("“文明交通路口测评”不适用于“片”类节点“东昌东路片区”")
    status, body = post(client, "/inspections", {"version_id": version.pk, "node_id": grid.post.pk,
                                                 "inspected_on": today})
    assert (status, body["status"], [r["item"]["code"] for r in body["results"]]) == (
        201, "recording", ["1.1", "1.2", "2.1", "2.2"]
    )
    inspection_id = body["id"]
    status, body = post(client, f"/inspections/{inspection_id}/results", {"results": [
        {"item": "1.1", "passed": False, "note": "未礼让"}, {"item": "1.2", "passed": True},
        {"item": "2.1", "points": "8.5"}, {"item": "2.2", "measured": "99.1"},
    ]})
    assert (status, [r["passed"] for r in body["results"]]) == (200, [False, True, False, True])
    assert post(client, f"/inspections/{inspection_id}/results", {"results": [{"item": "9.9", "passed": True}]}) == (
        400, {"detail": "本次检查没有编号为 9.9 的项目"}
    )
    status, body = post(client, f"/inspections/{inspection_id}/complete", {"severity": "high"})
    assert (status, body["status"], body["score_achieved"], body["items_failed"]) == (200, "completed", "23.50", 2)
    case_ids = [r["case_id"] for r in body["results"] if r["case_id"]]
    assert len(case_ids) == 2
    assert Case.objects.get(pk=case_ids[0]).status == CaseStatus.ASSIGNED
    listed = client.get(API + "/inspections").json()
    assert [item["id"] for item in listed["items"]] == [inspection_id]
    assert client_for(grid.officer_user).get(f"{API}/inspections/{inspection_id}").status_code == 200


def test_standards_catalogue(grid):
    version = published_standard()
    client = client_for(grid.officer_user)
    listed = client.get(API + "/standards").json()
    assert [(s["code"], [v["number"] for v in s["versions"]]) for s in listed] == [("WMJT-LK", [1])]
    detail = client.get(f"{API}/standards/WMJT-LK/versions/1").json()
    assert (detail["id"], [item["code"] for item in detail["items"]]) == (version.pk, ["1.1", "1.2", "2.1", "2.2"])
    assert detail["items"][3]["comparison"] == "gte"
    assert client.get(f"{API}/standards/WMJT-LK/versions/9").status_code == 404
    clerk = factories.user_with_scope(Role.DEPARTMENT_CLERK, grid.post, username="clerk")
    assert client_for(clerk).get(API + "/standards").status_code == 403
