"""Where our importer's time goes: `run_import` under py-spy, on a fresh benchmark database.

    .venv/bin/python bench/profile_import.py --databases sqlite,postgresql --formats csv,xlsx

Samples every 10 ms, idle time included (so waiting for PostgreSQL shows), and prints for each run
the functions with the most inclusive and self time. The raw stacks are kept in
bench/out/profile-<ts>-<database>-<format>.txt (collapsed-stack format, for flamegraph tools).
py-spy is in bench/requirements.txt. A sampled run is slower than an unsampled one: take rates
from bench/run.py, shares from here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

import run  # noqa: E402  (bench/ is a folder of scripts, not a package)

_FRAME = re.compile(r"^(?P<name>.*) \((?P<path>[^()]*?)(?::\d+)?\)$")


def _short(frame: str) -> str:
    match = _FRAME.match(frame)
    if not match:
        return frame
    path = match["path"]
    for marker in ("site-packages/", "/src/", "/lib/python3.11/", "/bench/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{match['name']} ({path})"


def summarize(raw: Path, top: int = 22) -> str:
    """Inclusive and self shares of the sampled stacks, as Markdown."""
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [_short(frame) for frame in stack.split(";")]
        total += count
        self_time[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "(no samples)"
    lines = [f"{total:,} samples", "", "| inclusive % | function (ours only) |", "|---:|---|"]
    ours = [(name, count) for name, count in inclusive.most_common() if "civicgrid/" in name]
    lines += [f"| {100 * count / total:.1f} | `{name}` |" for name, count in ours[:top]]
    lines += ["", "| self % | function |", "|---:|---|"]
    lines += [f"| {100 * count / total:.1f} | `{name}` |" for name, count in self_time.most_common(top)]
    return "\n".join(lines)


class _Quiet:
    def say(self, text: str) -> None:
        print(text, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--invalid-rate", type=float, default=0.01)
    parser.add_argument("--databases", default="sqlite")
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--src", choices=("snapshot", "worktree"), default="snapshot")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if not py_spy:
        raise SystemExit("py-spy is not installed: pip install -r bench/requirements.txt")
    # Scratch databases of its own, so a profile never touches a benchmark run's.
    run.PG_DB, run.PG_TEMPLATE = "cg_bench_profile", "cg_bench_profile_template"
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    run.OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="cg-profile-"))
    src, code = run.source_tree(args.src, workdir)
    report = [
        f"# Profile {stamp}: run_import, {args.rows:,} rows, py-spy at {args.rate} Hz, idle included",
        "",
    ]
    try:
        for vendor in args.databases.split(","):
            database: run.Database = (
                run.SqliteDatabase(workdir / "sqlite") if vendor == "sqlite" else run.PostgresDatabase()
            )
            if isinstance(database, run.SqliteDatabase):
                database.folder.mkdir(parents=True, exist_ok=True)
            database.create_template()
            env = {
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "civicgrid.config.settings.dev",
                "CIVICGRID_DEBUG": "false",
                "CIVICGRID_DATA_DIR": str(workdir / "var"),
                "PYTHONPATH": os.pathsep.join([str(BENCH), str(src)]),
            }
            child = [sys.executable, str(BENCH / "run.py"), "--child"]
            subprocess.run(
                [*child, json.dumps({"task": "setup"})], env={**env, **database.template_env()}, check=True
            )
            try:
                for fmt in args.formats.split(","):
                    path = run.data_file(args.rows, args.seed, args.invalid_rate, fmt, _Quiet())  # type: ignore[arg-type]
                    database.fresh()
                    raw = run.OUT / f"profile-{stamp}-{vendor}-{fmt}.txt"
                    spec = {"task": "ours", "file": str(path)}
                    started = time.perf_counter()
                    completed = subprocess.run(
                        [
                            py_spy,
                            "record",
                            "--idle",
                            "--format",
                            "raw",
                            "--rate",
                            str(args.rate),
                            "--output",
                            str(raw),
                            "--",
                            *child,
                            json.dumps(spec),
                        ],
                        env={**env, **database.env()},
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    seconds = time.perf_counter() - started
                    result = next(
                        (line[7:] for line in completed.stdout.splitlines() if line.startswith("RESULT ")),
                        "{}",
                    )
                    section = f"## {database.label}, {fmt} ({seconds:.0f} s under the profiler)"
                    report += [section, "", f"`{result}`", "", summarize(raw), ""]
                    print("\n".join([section, summarize(raw), ""]), flush=True)
            finally:
                database.drop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out = run.OUT / f"profile-{stamp}.md"
    out.write_text("\n".join(report), encoding="utf-8")
    print(f"-> {out}")


if __name__ == "__main__":
    main()
