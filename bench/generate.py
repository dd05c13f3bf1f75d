"""Seeded generator of a person-registry ledger (人员台账) for the import benchmark.

    .venv/bin/python bench/generate.py --rows 1000000 --seed 20261129 --format csv --out bench/data/p.csv

Rows look like a county's ledger: unique valid GB 11643 ID numbers (Liaocheng region codes, the
district mostly matching the grid's), Shandong surnames, sex and birth date agreeing with the ID,
mobile or 0635 landline phones (some blank, some typed with spaces), the grid code of a node of
`bench/territory.py` and a village address. `--invalid-rate` makes that share of rows wrong in one
of a few ways an import must reject; a manifest `<out>.json` records how many of each.

CSV is UTF-8 with a BOM (what Excel writes as "CSV UTF-8"); xlsx is written by openpyxl in
write-only mode with ID numbers and phones as text cells and birth dates as date cells.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import territory  # noqa: E402  (bench/ is a folder of scripts, not a package)

from civicgrid.core.idnumber import make  # noqa: E402

HEADERS = ("身份证号", "姓名", "性别", "出生日期", "联系电话", "网格编码", "详细地址")
# A fixed "today" keeps files identical whatever day they are generated.
REFERENCE_DAY = dt.date(2025, 12, 31)
OTHER_SHANDONG_REGIONS = ("370102", "370203", "370302", "371402", "371102", "370811", "371302")

# Rough frequencies of surnames in western Shandong (per mille of the population, rounded).
SURNAMES: dict[str, float] = {
    "王": 90,
    "张": 80,
    "李": 78,
    "刘": 60,
    "孙": 30,
    "赵": 25,
    "杨": 25,
    "陈": 25,
    "徐": 20,
    "马": 20,
    "高": 20,
    "于": 18,
    "田": 15,
    "郭": 15,
    "孔": 10,
    "宋": 10,
    "韩": 10,
    "董": 10,
    "吕": 10,
    "曹": 10,
    "魏": 10,
    "侯": 10,
    "周": 10,
    "吴": 9,
    "朱": 9,
    "崔": 9,
    "姜": 9,
    "范": 8,
    "贾": 8,
    "冯": 8,
    "任": 8,
    "邢": 6,
    "耿": 6,
    "袁": 6,
    "蔡": 5,
    "闫": 5,
    "石": 5,
    "鲁": 5,
    "孟": 5,
    "薛": 4,
    "牛": 4,
    "颜": 3,
    "毕": 3,
    "房": 3,
    "司": 2,
    "曾": 2,
    "欧阳": 0.5,
    "诸葛": 0.2,
}
MALE_GIVEN = (
    "建国",
    "志强",
    "伟",
    "磊",
    "军",
    "勇",
    "涛",
    "明",
    "超",
    "刚",
    "鹏",
    "杰",
    "浩",
    "宇",
    "俊",
    "晨",
    "子轩",
    "浩然",
    "博文",
    "国庆",
    "红军",
    "建华",
    "立新",
    "海波",
    "玉龙",
    "振华",
    "德明",
    "春生",
    "树林",
    "保国",
    "长江",
    "宝山",
    "庆华",
    "金锁",
    "传福",
    "广田",
    "兆峰",
    "继业",
    "一鸣",
    "梓豪",
)
FEMALE_GIVEN = (
    "秀英",
    "桂兰",
    "玉兰",
    "秀兰",
    "淑珍",
    "丽",
    "静",
    "敏",
    "燕",
    "霞",
    "芳",
    "娜",
    "红",
    "艳",
    "丽娟",
    "婷",
    "雪",
    "欣怡",
    "梓涵",
    "雨桐",
    "佳怡",
    "晓燕",
    "春梅",
    "凤英",
    "金花",
    "翠萍",
    "玉梅",
    "素芳",
    "慧敏",
    "文静",
    "思雨",
    "可馨",
    "淑华",
    "秀云",
    "桂芝",
    "月娥",
)
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "199",
)
INVALID_KINDS = ("check_digit", "unknown_grid", "sex_mismatch", "empty_name", "birth_mismatch", "bad_phone")


def _birth_date(rng: random.Random) -> dt.date:
    age_days = int(rng.triangular(0, 95, 38) * 365.25)
    return REFERENCE_DAY - dt.timedelta(days=age_days + 1)


def _phone(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return ""
    if roll < 0.10:
        return f"0635-{rng.randrange(2_000_000, 9_000_000)}"
    number = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"
    if roll < 0.12:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    return number


def rows(count: int, seed: int, invalid_rate: float, counts: Counter[str]) -> Iterator[tuple[object, ...]]:
    """Yield `count` ledger rows (birth date as a date); `counts` receives valid/invalid tallies."""
    rng = random.Random(seed)
    grid_specs = territory.grids()
    addresses = territory.full_names()
    surnames = list(SURNAMES)
    weights = list(SURNAMES.values())
    seen: set[str] = set()
    for _ in range(count):
        grid = rng.choice(grid_specs)
        roll = rng.random()
        region = (
            grid.district_code
            if roll < 0.8
            else rng.choice(territory.DISTRICTS)[0]
            if roll < 0.95
            else rng.choice(OTHER_SHANDONG_REGIONS)
        )
        male = rng.random() < 0.5
        while True:
            birth = _birth_date(rng)
            sequence = rng.randrange(500) * 2 + (1 if male else 0)
            id_number = make(region, birth, sequence)
            if id_number[:17] not in seen:
                seen.add(id_number[:17])
                break
        given = rng.choice(MALE_GIVEN if male else FEMALE_GIVEN)
        row: list[object] = [
            id_number,
            rng.choices(surnames, weights)[0] + given,
            "男" if male else "女",
            birth,
            _phone(rng),
            grid.code,
            f"{addresses[grid.code]}{rng.randint(1, 30)}排{rng.randint(1, 40)}号",
        ]
        if invalid_rate and rng.random() < invalid_rate:
            kind = rng.choice(INVALID_KINDS)
            counts[f"invalid_{kind}"] += 1
            if kind == "check_digit":
                good = id_number[17]
                row[0] = id_number[:17] + next(c for c in "0123456789X" if c != good)
            elif kind == "unknown_grid":
                row[5] = f"{grid.code[:-2]}99"
            elif kind == "sex_mismatch":
                row[2] = "女" if male else "男"
            elif kind == "empty_name":
                row[1] = ""
            elif kind == "birth_mismatch":
                row[3] = birth - dt.timedelta(days=1)
            else:
                row[4] = f"1{rng.randrange(1000):03d}"
        else:
            counts["valid"] += 1
        yield tuple(row)


def write_csv(path: Path, data: Iterator[tuple[object, ...]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for row in data:
            birth = row[3]
            writer.writerow((*row[:3], f"{birth:%Y-%m-%d}", *row[4:]))


def write_xlsx(path: Path, data: Iterator[tuple[object, ...]]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("人员台账")
    for letter, width in zip("ABCDEFG", (22, 10, 6, 12, 16, 18, 40), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.append(HEADERS)
    # Styled cells reused per row (each row is serialised as it is appended): the ID number as a
    # text cell formatted "@", so Excel keeps all 18 digits when a user edits it, and a date format.
    id_cell = WriteOnlyCell(sheet)
    id_cell.number_format = "@"
    date_cell = WriteOnlyCell(sheet)
    date_cell.number_format = "yyyy-mm-dd"
    for row in data:
        id_cell.value = row[0]
        date_cell.value = row[3]
        sheet.append((id_cell, *row[1:3], date_cell, *row[4:]))
    workbook.save(path)


def generate(
    rows_count: int, seed: int, file_format: str, out: Path, invalid_rate: float
) -> dict[str, object]:
    """Write one file and its manifest; return the manifest."""
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: Counter[str] = Counter()
    started = time.perf_counter()
    data = rows(rows_count, seed, invalid_rate, counts)
    tmp = out.with_name(out.name + ".part")
    if file_format == "csv":
        write_csv(tmp, data)
    else:
        write_xlsx(tmp, data)
    tmp.replace(out)
    digest = hashlib.sha256()
    with out.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    manifest: dict[str, object] = {
        "path": str(out),
        "format": file_format,
        "rows": rows_count,
        "seed": seed,
        "invalid_rate": invalid_rate,
        "valid_rows": counts["valid"],
        "invalid_rows": rows_count - counts["valid"],
        "invalid_by_kind": {k.removeprefix("invalid_"): v for k, v in sorted(counts.items()) if k != "valid"},
        "headers": list(HEADERS),
        "bytes": out.stat().st_size,
        "sha256": digest.hexdigest(),
        "seconds": round(time.perf_counter() - started, 2),
    }
    out.with_name(out.name + ".json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--format", choices=("csv", "xlsx"), required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--invalid-rate", type=float, default=0.0, help="share of rows made invalid (default 0)"
    )
    args = parser.parse_args()
    manifest = generate(args.rows, args.seed, args.format, args.out, args.invalid_rate)
    print(json.dumps(manifest, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
