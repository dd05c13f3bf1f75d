"""`civicgrid demo [--reset] [--quiet]`: build the demo district and print its logins.

Idempotent: when the demo is already there it is left alone (the logins are printed again, so
`make run` always shows them); `--reset` removes the demo's data and builds it afresh.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from civicgrid.core.errors import ApplicationError
from civicgrid.demo import builder
from civicgrid.territory.models import NodeKind


def _width(text: str) -> int:
    # CJK characters take two terminal columns
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table whose columns line up with Chinese text in a terminal."""
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Build the demo district (聊城市演示数据) and print the demo logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="remove the existing demo data and build it again")
        parser.add_argument("--quiet", action="store_true", help="no progress bar and no login table")

    def handle(self, *args: Any, **options: Any) -> None:
        quiet: bool = options["quiet"]
        reset: bool = options["reset"]
        status = builder.demo_status()
        if status == builder.DemoStatus.FOREIGN:
            raise CommandError(
                _("编码 %(code)s 的节点已存在且不是演示数据，未做任何改动") % {"code": builder.DEMO_ROOT_CODE}
            )
        if status == builder.DemoStatus.PRESENT and not reset:
            if not quiet:
                self.stdout.write(_("演示数据已存在，未重复创建（如需重建请加 --reset）。"))
                self._print_logins(builder.demo_summary())
            return

        plan = builder.plan_demo()
        with tqdm(
            total=plan.steps, desc=_("演示数据"), unit=_("项"), disable=quiet, file=sys.stderr, leave=False,
        ) as bar:
            try:
                summary = builder.build_demo(plan=plan, reset=reset, progress=bar.update)
            except ApplicationError as exc:
                raise CommandError(str(exc)) from exc
        if quiet:
            return
        kinds = "，".join(
            f"{NodeKind(kind).label} {count}" for kind, count in summary.nodes_by_kind.items() if count
        )
        self.stdout.write(self.style.SUCCESS(_("演示数据已创建。")))
        self.stdout.write(_("网格节点：%(kinds)s") % {"kinds": kinds})
        self.stdout.write(
            _("人员：%(people)s（其中未满14周岁 %(minors)s）；"
              "包干责任：%(assignments)s（现任第一责任人 %(current)s，历史 %(ended)s）")
            % {"people": summary.people, "minors": summary.minors, "assignments": summary.assignments,
               "current": summary.current_primary, "ended": summary.ended}
        )
        self.stdout.write(_("包干缺口（%(count)s）：%(gaps)s") % {"count": len(summary.gaps), "gaps": "、".join(summary.gaps)})
        self._print_logins(summary)

    def _print_logins(self, summary: builder.DemoSummary) -> None:
        rows = [(row.username, row.role, row.name, row.scope, row.duty) for row in summary.logins]
        self.stdout.write("")
        self.stdout.write(format_table((_("账号"), _("角色"), _("姓名"), _("数据范围"), _("职责")), rows))
        self.stdout.write("\n" + _("演示账号统一密码：%(password)s") % {"password": builder.DEMO_PASSWORD})
