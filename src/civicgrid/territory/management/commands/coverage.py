"""`civicgrid coverage [--node CODE] [--xlsx PATH] [--on YYYY-MM-DD]`: the coverage report at the
console. The console is the system actor: its scope is the whole tree from the root node(s), read
through the plainly named `*_for_system` selectors (never the web's actor-scoped path)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from civicgrid.territory.reports import coverage_workbook, gap_headers, gap_rows
from civicgrid.territory.selectors import (
    coverage_gaps_for_system,
    coverage_summary_for_system,
    node_get_by_code_for_system,
    node_path_labels_for_system,
    node_roots_for_system,
)


class Command(BaseCommand):
    # A plain str like the other commands' help: argparse cannot format a lazy translation.
    help = "Coverage report (包干覆盖报告): totals and the nodes without a primary holder; optional .xlsx export."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--node", metavar="CODE", help=_("只统计该编码节点的子树"))
        parser.add_argument("--xlsx", metavar="PATH", help=_("同时写出 Excel 报告"))
        parser.add_argument("--on", metavar="YYYY-MM-DD", help=_("统计日期，默认今天"))

    def handle(self, *args: Any, **options: Any) -> None:
        on = self._parse_day(options.get("on"))
        root = None
        if options.get("node"):
            root = node_get_by_code_for_system(options["node"])
            if root is None:
                raise CommandError(_("没有编码为 %(code)s 的有效节点。") % {"code": options["node"]})
            scope = f"{root.name}（{root.code}）"
        else:
            scope = "、".join(node.name for node in node_roots_for_system()) or _("（空）")

        summary = coverage_summary_for_system(root=root, on=on)
        rows_source = coverage_gaps_for_system(root=root, on=on).iterator(chunk_size=2000)
        gaps = list(tqdm(rows_source, total=summary["gaps"], desc=_("读取缺口"), unit=_("个"), disable=None))
        labels = node_path_labels_for_system(nodes=gaps)

        write = self.stdout.write
        write(_("包干覆盖报告  范围：%(scope)s  统计日期：%(on)s") % {"scope": scope, "on": on.isoformat()})
        write(
            _("需配第一责任人：%(needing)s  已覆盖：%(covered)s  缺口：%(gaps)s  覆盖率：%(percent)s%%")
            % summary
        )
        if gaps:
            write("")
            write("\t".join(gap_headers()))
            for row in gap_rows(gaps, labels):
                write("\t".join(row))
        else:
            write(_("全部覆盖，没有缺口。"))

        if options.get("xlsx"):
            path = Path(options["xlsx"])
            content = coverage_workbook(summary=summary, gaps=gaps, labels=labels, scope=scope, on=on)
            try:
                path.write_bytes(content)
            except OSError as exc:
                raise CommandError(_("无法写入 %(path)s：%(error)s") % {"path": path, "error": exc}) from exc
            write(_("已写出 %(path)s（%(count)s 行缺口）") % {"path": path, "count": len(gaps)})

    @staticmethod
    def _parse_day(value: str | None) -> dt.date:
        if not value:
            return timezone.localdate()
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise CommandError(_("日期格式应为 YYYY-MM-DD：%(value)s") % {"value": value}) from exc
