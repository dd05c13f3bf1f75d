"""`civicgrid escalate_overdue [--now ISO-datetime]`: escalate overdue cases up the responsibility
chain. Run it daily (cron, or a scheduler enqueuing civicgrid.cases.tasks.escalate_overdue_cases);
running it twice changes nothing the second time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.cases.services import cases_escalate_overdue, escalation_step_days


class Command(BaseCommand):
    help = "Escalate overdue cases up the responsibility chain (逾期问题升级督办)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--now", help="act as of this moment (ISO 8601, e.g. 2026-03-01T08:00); default: now")

    def handle(self, *args: Any, **options: Any) -> None:
        now = None
        if options.get("now"):
            try:
                now = dt.datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(_("无法识别的时间：%(value)s") % {"value": options["now"]}) from exc
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        summary = cases_escalate_overdue(now=now)
        self.stdout.write(
            _("逾期问题: %(overdue)s；本次升级: %(escalated)s；已到最高层级: %(topped)s（每逾期 %(days)s 天升一级）")
            % {
                "overdue": summary.overdue, "escalated": summary.escalated, "topped": summary.topped,
                "days": escalation_step_days(),
            }
        )
