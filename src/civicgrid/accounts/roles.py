"""Roles and the actions they allow. Permissions are data: views and API endpoints declare the
action they need, and this table says which roles hold it (三员分立: the system administrator
manages accounts but reads neither personal information nor the audit trail; the auditor reads
only the audit trail)."""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    COUNTY_ADMIN = "county_admin", _("区县管理员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    AUDITOR = "auditor", _("审计员")
    INSPECTOR = "inspector", _("督查员")
    TOWN_OFFICER = "town_officer", _("乡镇干部（扶贫专班）")
    VILLAGE_CADRE = "village_cadre", _("包村干部/帮扶责任人")
    DEPARTMENT_CLERK = "department_clerk", _("部门经办人")
    BRIGADE_LEADER = "brigade_leader", _("大队领导（包片）")
    SQUAD_LEADER = "squad_leader", _("中队长（包线）")
    OFFICER = "officer", _("民警/辅警（包点段）")


class Action(StrEnum):
    VIEW_TERRITORY = "view_territory"
    MANAGE_TERRITORY = "manage_territory"
    VIEW_PEOPLE = "view_people"
    MANAGE_PEOPLE = "manage_people"
    UNMASK = "unmask"  # see full ID number / phone, with a reason, logged
    VIEW_MINOR = "view_minor"  # see minors' (<14) identifying data at all (PIPL Art. 28/31)
    VIEW_HEALTH = "view_health"  # disability, illness, income (PIPL Art. 28)
    MANAGE_ASSIGNMENTS = "manage_assignments"
    IMPORT = "import"
    EXPORT = "export"
    VIEW_AUDIT = "view_audit"
    MANAGE_ACCOUNTS = "manage_accounts"
    # Standards, inspections and the rectification loop (查问题—抓整改—抓达标).
    MANAGE_STANDARDS = "manage_standards"
    INSPECT = "inspect"
    VIEW_CASES = "view_cases"
    HANDLE_CASES = "handle_cases"  # work on cases routed to oneself: start, submit evidence
    MANAGE_CASES = "manage_cases"  # create, assign, re-assign, cancel cases in scope
    VERIFY_CASES = "verify_cases"  # verify or reject a submitted fix (never one's own: 交叉复核)
    # Indicators and dashboards.
    VIEW_INDICATORS = "view_indicators"
    MANAGE_INDICATORS = "manage_indicators"
    # Operations: the scheduled jobs' state (last run, next due, result); no personal data.
    VIEW_JOBS = "view_jobs"


A = Action
_FIELD_ROLE = {A.VIEW_TERRITORY, A.VIEW_PEOPLE, A.EXPORT}
_CASE_WORKER = {A.VIEW_CASES, A.HANDLE_CASES, A.VIEW_INDICATORS}
_CASE_MANAGER = _CASE_WORKER | {A.MANAGE_CASES, A.VERIFY_CASES, A.INSPECT}

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.COUNTY_ADMIN: frozenset(
        {A.VIEW_TERRITORY, A.MANAGE_TERRITORY, A.VIEW_PEOPLE, A.MANAGE_PEOPLE, A.UNMASK, A.VIEW_MINOR,
         A.VIEW_HEALTH, A.MANAGE_ASSIGNMENTS, A.IMPORT, A.EXPORT, A.MANAGE_STANDARDS, A.MANAGE_INDICATORS,
         A.VIEW_JOBS}
        | _CASE_MANAGER
    ),
    Role.SYSTEM_ADMIN: frozenset({A.MANAGE_ACCOUNTS}),
    Role.AUDITOR: frozenset({A.VIEW_AUDIT}),
    Role.INSPECTOR: frozenset({A.VIEW_TERRITORY, A.VIEW_PEOPLE, A.VIEW_CASES, A.INSPECT, A.VERIFY_CASES, A.VIEW_INDICATORS}),
    Role.TOWN_OFFICER: frozenset(
        {A.VIEW_TERRITORY, A.VIEW_PEOPLE, A.MANAGE_PEOPLE, A.UNMASK, A.VIEW_HEALTH, A.MANAGE_ASSIGNMENTS,
         A.IMPORT, A.EXPORT}
        | _CASE_MANAGER
    ),
    Role.VILLAGE_CADRE: frozenset(_FIELD_ROLE | _CASE_WORKER | {A.VIEW_HEALTH}),
    Role.DEPARTMENT_CLERK: frozenset({A.VIEW_TERRITORY, A.IMPORT}),
    Role.BRIGADE_LEADER: frozenset(_FIELD_ROLE | _CASE_MANAGER | {A.MANAGE_ASSIGNMENTS, A.UNMASK, A.IMPORT}),
    Role.SQUAD_LEADER: frozenset(_FIELD_ROLE | _CASE_MANAGER),
    Role.OFFICER: frozenset(_FIELD_ROLE | _CASE_WORKER | {A.INSPECT}),
}


def role_allows(role: str, action: Action) -> bool:
    """Whether a role holds an action."""
    return action in ROLE_ACTIONS.get(role, frozenset())
