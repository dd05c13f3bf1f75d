"""Fixtures of the security matrix tests: a two-town world with one account per role scoped to town A,
and Playwright on Debian's Chromium (../shared/docs/recipes.md §1)."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Role
from civicgrid.cases.tests.factories import matrix_objects as matrix_case_objects
from civicgrid.core.exports import workbook_bytes
from civicgrid.core.masking import mask_id_number, mask_phone
from civicgrid.indicators.tests.factories import seed_matrix_values as seed_indicator_values
from civicgrid.ingest.models import ImportJob, ImportStatus
from civicgrid.people.models import Person
from civicgrid.people.services import person_update
from civicgrid.territory.models import ResponsibilityRole
from civicgrid.territory.services import assignment_start
from civicgrid.testing import factories
from civicgrid.testing.fixtures import World

CHROMIUM = Path(os.environ.get("CIVICGRID_CHROMIUM", "/usr/bin/chromium"))  # the variable is for testing this rule
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]


@dataclass
class MatrixWorld:
    world: World
    users: dict[str, User]  # role -> account with a grant on town A
    objects: dict[str, tuple[Any, Any]]  # kind -> (inside town A, inside town B)
    out_of_scope_markers: list[str]  # text of town B that no town-A page may contain
    full_numbers: list[str]  # every full ID number and phone in the world (R13)

    def ids(self, inside: bool) -> dict[str, Any]:
        return {kind: pair[0 if inside else 1].pk for kind, pair in self.objects.items()}

    def client_for(self, role: str) -> Client:
        client = Client()
        client.force_login(self.users[role])
        return client


def _import_job(actor: User, town: Any, label: str) -> ImportJob:
    """A finished import job filed under a town, with an error report on disk (masked, as ingest writes it)."""
    job = ImportJob.objects.create(
        schema="people.person", original_filename=f"{label}台账.xlsx", file=f"imports/{label}.xlsx",
        actor=actor, scope_path=town.path, status=ImportStatus.SUCCEEDED, rows_total=2, rows_error=1,
    )
    report = Path(django_settings.MEDIA_ROOT) / "imports" / "reports" / f"{job.pk}.xlsx"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_bytes(workbook_bytes([("错误", ["行", "列", "原因"], [[3, "身份证号", "校验位错误：371502********0018"]])]))
    ImportJob.objects.filter(pk=job.pk).update(error_report=str(report.relative_to(django_settings.MEDIA_ROOT)))
    job.refresh_from_db()
    return job


@pytest.fixture
def matrix_world(world: World, settings: Any, tmp_path: Path) -> MatrixWorld:
    """world + a responsible cadre and an assignment in each village, phones, an import job (by another
    uploader) in each town, and one account per role on town A."""
    settings.MEDIA_ROOT = tmp_path / "media"
    cadre_a = factories.person(world.village_a, name="孙为民", phone="13912340001")
    cadre_b = factories.person(world.village_b, name="钱有福", phone="13912340002")
    person_update(actor=None, person=world.person_a, phone="13812345601")
    person_update(actor=None, person=world.person_b, phone="13812345602")
    assignments = [
        assignment_start(
            actor=None, person=cadre, node=village, role=ResponsibilityRole.VILLAGE_CADRE,
            valid_from=dt.date(2025, 1, 1),
        )
        for cadre, village in ((cadre_a, world.village_a), (cadre_b, world.village_b))
    ]
    case_objects = matrix_case_objects(world)  # an inspection, its finding's case and photo in each village
    users = {
        role.value: factories.user_with_scope(role, world.town_a, username=f"{role.value}_a") for role in Role
    }
    seed_indicator_values()  # the coverage indicator's values in both towns (indicators.IndicatorValue)
    uploader = factories.user_with_scope(Role.TOWN_OFFICER, world.district, username="uploader")
    jobs = (_import_job(uploader, world.town_a, "顾官屯镇"), _import_job(uploader, world.town_b, "许营镇"))
    people = list(Person.objects.all())
    person_b = Person.objects.get(pk=world.person_b.pk)
    markers = [
        world.town_b.name, world.village_b.name, person_b.name, cadre_b.name,
        person_b.id_number, mask_id_number(person_b.id_number), mask_phone(person_b.phone),
        cadre_b.id_number, mask_id_number(cadre_b.id_number), "许营镇台账",
    ]
    return MatrixWorld(
        world=world,
        users=users,
        objects={
            "node": (world.village_a, world.village_b),
            "person": (world.person_a, world.person_b),
            "assignment": (assignments[0], assignments[1]),
            "import_job": jobs,
            **case_objects,
        },
        out_of_scope_markers=markers,
        full_numbers=[p.id_number for p in people] + [p.phone for p in people if p.phone],
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Playwright on Debian's /usr/bin/chromium. Without it: skip locally, fail under CI=true."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing and CI is set: browser tests are mandatory in CI")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests skipped outside CI")
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """A county office's browser: Chinese locale and Beijing time."""
    return {**browser_context_args, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
