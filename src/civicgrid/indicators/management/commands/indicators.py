"""`civicgrid indicators sync|recompute|refresh`: write the built-in indicator definitions; recompute
stored values (`--indicator CODE` repeatable, `--from DATE`, with a progress bar); recount the running
periods through today (the daily job). Runs with full scope (an operator at the console)."""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from civicgrid.core.errors import ApplicationError
from civicgrid.indicators.services import (
    indicator_recompute_all,
    indicators_refresh_current,
    indicators_sync_builtins,
)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(_("日期格式应为 YYYY-MM-DD：%(value)s") % {"value": value}) from None


class Command(BaseCommand):
    help = "Indicators (指标): sync built-ins, recompute stored values, refresh running periods."

    def add_arguments(self, parser: ArgumentParser) -> None:
        commands = parser.add_subparsers(dest="action", required=True)
        commands.add_parser("sync", help="write the registered built-in indicators (内置指标)")
        recompute = commands.add_parser("recompute", help="recompute stored values (重算)")
        recompute.add_argument("--indicator", action="append", dest="codes", metavar="CODE",
                               help="only this indicator (repeatable); default: every active one")
        recompute.add_argument("--from", dest="first", metavar="DATE", help="from the period containing DATE "
                               "(default: a year ago)")
        recompute.add_argument("--no-progress", action="store_true", help="no progress bar")
        commands.add_parser("refresh", help="recount running periods through today (daily job)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "sync":
                counts = indicators_sync_builtins(enqueue=False)
                self.stdout.write(
                    _("内置指标：新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s") % counts
                )
            elif action == "refresh":
                self.stdout.write(_("已重算本期：%(rows)s 行") % {"rows": indicators_refresh_current()})
            else:
                self._recompute(options)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc

    def _recompute(self, options: dict[str, Any]) -> None:
        first = _date(options["first"]) if options.get("first") else None
        bar = tqdm(total=0, unit=_("批"), desc=_("指标重算"), dynamic_ncols=True, disable=options["no_progress"],
                   file=self.stderr._out)  # type: ignore[attr-defined]

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            written = indicator_recompute_all(codes=options.get("codes"), first=first, progress=progress)
        finally:
            bar.close()
        for code, rows in written.items():
            self.stdout.write(_("%(code)s: %(rows)s 行") % {"code": code, "rows": rows})
