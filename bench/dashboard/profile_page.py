"""Where a dashboard request spends its time, on a database kept by `run.py --keep`.

    .venv/bin/python bench/dashboard/profile_page.py --sqlite /tmp/cg-dash-XXXX/dash.sqlite3 [--node town]
    .venv/bin/python bench/dashboard/profile_page.py --postgres [--page detail]

Runs the page `--reps` times under cProfile (after a warm-up) as the benchmark's county
administrator, then prints the time split into SQL (cursor execute), template rendering and the
rest, and the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--sqlite", metavar="FILE")
    where.add_argument("--postgres", action="store_true", help="the kept cg_dash database")
    parser.add_argument("--page", choices=("dashboard", "detail"), default="dashboard")
    parser.add_argument("--node", choices=("root", "town", "village"), default="root")
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--src", default=str(ROOT / "src"), help="the civicgrid source to import")
    parser.add_argument("--filter", default="", help="only functions whose file matches (e.g. civicgrid)")
    args = parser.parse_args()

    os.environ["DJANGO_SETTINGS_MODULE"] = "civicgrid.config.settings.base"
    os.environ.setdefault("CIVICGRID_DATA_DIR", tempfile.mkdtemp(prefix="cg-dash-profile-"))
    os.environ["CIVICGRID_DEBUG"] = "false"
    os.environ["DATABASE_URL"] = (f"sqlite:///{args.sqlite}" if args.sqlite
                                  else "postgres://postgres@127.0.0.1:5432/cg_dash")
    sys.path.insert(0, args.src)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from civicgrid.territory.models import Node

    admin = get_user_model().objects.get(username="bench_admin")
    kind = {"root": "district", "town": "town", "village": "village"}[args.node]
    node = Node.objects.filter(kind=kind).order_by("pk").first()
    if node is None:
        raise SystemExit(f"no {kind} node: is this a benchmark database?")
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(admin, backend="django.contrib.auth.backends.ModelBackend")
    url = reverse("indicators:dashboard") if args.page == "dashboard" else reverse("indicators:detail",
                                                                                    args=["closure_rate"])
    for _round in range(5):
        client.get(url, {"node": node.pk})
    # Inclusive render time per template (nested includes count in their parents too), without cProfile.
    from collections import defaultdict

    from django.template.base import Template

    spent: dict[str, float] = defaultdict(float)
    original_render = Template.render

    def timed_render(self: Template, context: object) -> str:
        begun = time.perf_counter()
        try:
            return original_render(self, context)  # type: ignore[arg-type]
        finally:
            spent[str(self.name)] += time.perf_counter() - begun

    Template.render = timed_render  # type: ignore[method-assign]
    started = time.perf_counter()
    for _round in range(args.reps):
        client.get(url, {"node": node.pk})
    plain = (time.perf_counter() - started) * 1000 / args.reps
    Template.render = original_render  # type: ignore[method-assign]
    print(f"{args.page} {args.node}: {plain:.1f} ms per request without cProfile; inclusive render time per template:")
    for name, seconds in sorted(spent.items(), key=lambda item: -item[1])[:15]:
        print(f"  {seconds * 1000 / args.reps:7.2f} ms  {name}")
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for _round in range(args.reps):
        client.get(url, {"node": node.pk})
    profile.disable()
    elapsed = (time.perf_counter() - started) * 1000 / args.reps
    stats = pstats.Stats(profile)
    totals = {"sql (cursor execute)": 0.0, "template render": 0.0}
    for (filename, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name in ("execute", "executemany") and filename.endswith("django/db/backends/utils.py"):
            totals["sql (cursor execute)"] += cumulative
        if name == "render" and filename.endswith("django/template/backends/django.py"):
            totals["template render"] += cumulative
    print(f"{args.page} {args.node} ({node.code}): {elapsed:.1f} ms per request under cProfile, {args.reps} requests")
    for label, seconds in totals.items():
        print(f"  {label}: {seconds * 1000 / args.reps:.1f} ms per request (cumulative; nested calls may overlap)")
    out = io.StringIO()
    restrictions: list[object] = [args.filter] if args.filter else []
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(*restrictions, args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
