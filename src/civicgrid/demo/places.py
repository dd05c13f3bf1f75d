"""The demo district's places: the newspaper page's territory as plain data (no database).

Codes. 371500 聊城市, 371502 东昌府区 and 371522 莘县 are GB/T 2260 codes. The two functional
zones are not GB/T 2260 counties; 371571 (聊城经济技术开发区) and 371572 (聊城高新技术产业开发区)
follow the statistical-code (统计用区划代码) convention for such zones [UNVERIFIED]. Every code
below the county level (towns 6+3 digits, villages 6+3+3, grids, the traffic brigade's
片/线/点段) is a DEMO code invented for this world, not an official one.

Geometry. Plain rectangles and lines in WGS 84 lon/lat, drawn so that every child lies inside
its parent and administrative siblings do not overlap; the traffic grid sits on the development
zone's urban area (lon 115.985–116.100, lat 36.420–36.490). Positions are plausible, not surveyed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from civicgrid.territory.models import NodeKind

Bounds = tuple[float, float, float, float]  # west, south, east, north

CITY_CODE = "371500"
DEVELOPMENT_ZONE_CODE = "371571"  # 聊城经济技术开发区 (statistical code, see module docstring)
HIGH_TECH_ZONE_CODE = "371572"  # 聊城高新技术产业开发区
SHENXIAN_CODE = "371522"  # 莘县

# ID numbers carry the county that issued them. The functional zones issue none of their own:
# their towns were carved out of 东昌府区, whose code residents' numbers keep [INTERP].
DONGCHANGFU_REGION = "371502"
SHENXIAN_REGION = "371522"

BRIGADE_CODE = f"{DEVELOPMENT_ZONE_CODE}-JJDD"  # 聊城开发区交警大队 (demo code; also the demo's marker)

SHIBALIPU_CODE = "371522106"  # 十八里铺镇
XUZHUANG_CODE = "371522106201"  # 徐庄
GUGUANTUN_CODE = "371572100"  # 顾官屯镇
ZAOZHAI_CODE = "371572100201"  # 枣寨村


@dataclass(frozen=True)
class PlannedNode:
    """One territory node to create. `residents` people live directly in it (villages without
    grids, communities, grids); `region` is the ID-number region code of people born there."""

    code: str
    name: str
    kind: str
    parent_code: str | None
    geometry: dict[str, Any] | None = None
    residents: int = 0
    region: str = ""
    urban: bool = False
    address_prefix: str = ""


@dataclass
class Territory:
    """The planned tree in creation order (parents first) plus the codes the rest of the demo needs."""

    nodes: list[PlannedNode] = field(default_factory=list)
    # name -> code; every demo name is unique, so the staff plan can refer to places by name
    codes: dict[str, str] = field(default_factory=dict)

    def add(self, node: PlannedNode) -> PlannedNode:
        if node.name in self.codes:
            raise ValueError(f"duplicate demo place name {node.name}")
        self.nodes.append(node)
        self.codes[node.name] = node.code
        return node

    def children(self, code: str, kind: str | None = None) -> list[PlannedNode]:
        return [n for n in self.nodes if n.parent_code == code and (kind is None or n.kind == kind)]

    def by_code(self, code: str) -> PlannedNode:
        for node in self.nodes:
            if node.code == code:
                return node
        raise KeyError(code)


def _r(value: float) -> float:
    return round(value, 6)


def rectangle(bounds: Bounds) -> dict[str, Any]:
    """A GeoJSON polygon for a lon/lat box."""
    west, south, east, north = (_r(v) for v in bounds)
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [_r(lon), _r(lat)]}


def line(*coordinates: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [[_r(lon), _r(lat)] for lon, lat in coordinates]}


def split(bounds: Bounds, columns: int, rows: int = 1, inset: float = 0.0) -> list[Bounds]:
    """Cells of a box, row by row from the north-west; `inset` (a share of the cell) leaves
    farmland between villages so a point between them falls to the town."""
    west, south, east, north = bounds
    width, height = (east - west) / columns, (north - south) / rows
    cells = []
    for row in range(rows):
        for column in range(columns):
            cell_west = west + column * width
            cell_north = north - row * height
            dx, dy = width * inset, height * inset
            cells.append((cell_west + dx, cell_north - height + dy, cell_west + width - dx, cell_north - dy))
    return cells


# ---------------------------------------------------------------------------------------------
# Administrative part: districts → towns/sub-districts → villages/communities → grids

# (town code, town name, [(village name, residents or per-grid residents, grids)])
_SHENXIAN_TOWNS = [
    (
        SHIBALIPU_CODE, "十八里铺镇", (115.70, 36.12, 115.82, 36.22),
        [("徐庄", 80, 3), ("十八里铺", 150, 0), ("西李楼", 110, 0), ("后张集", 100, 0), ("小王庄", 90, 0),
         ("郭屯", 80, 0)],
    ),
    ("371522103", "朝城镇", (115.56, 36.12, 115.68, 36.22), [("马庄", 100, 0), ("后王楼", 90, 0)]),
]
_HIGH_TECH_TOWNS = [
    (
        GUGUANTUN_CODE, "顾官屯镇", (116.10, 36.36, 116.16, 36.44),
        [("枣寨村", 75, 2), ("顾官屯村", 130, 0), ("西王庄村", 90, 0), ("李官庄村", 90, 0), ("小张营村", 80, 0),
         ("前八里屯村", 80, 0)],
    ),
    ("371572101", "许营镇", (116.16, 36.36, 116.22, 36.44), [("许营村", 110, 0), ("东刘集村", 90, 0)]),
]
DEVELOPMENT_ZONE_BOUNDS: Bounds = (115.985, 36.420, 116.100, 36.490)
_DEVELOPMENT_ZONE_STREETS = [
    ("371571001", "北城街道", (115.985, 36.466, 116.100, 36.490), ["王口社区", "辛庄社区", "北顺社区"]),
    ("371571002", "东城街道", (115.985, 36.444, 116.100, 36.466), ["东昌社区", "嫩江社区", "松花江社区"]),
    ("371571003", "蒋官屯街道", (115.985, 36.420, 116.100, 36.444), ["蒋官屯社区", "潘庄社区", "黄河社区"]),
]
COMMUNITY_RESIDENTS = 35


def _rural_town(
    territory: Territory, district_code: str, region: str, town: tuple[str, str, Bounds, list[tuple[str, int, int]]],
) -> None:
    town_code, town_name, bounds, villages = town
    territory.add(PlannedNode(town_code, town_name, NodeKind.TOWN, district_code, rectangle(bounds)))
    columns = 3 if len(villages) > 2 else 2
    rows = (len(villages) + columns - 1) // columns
    for number, ((name, residents, grids), cell) in enumerate(
        zip(villages, split(bounds, columns, rows, inset=0.08), strict=False), start=1
    ):
        # 村委会 codes are 2xx in the statistical scheme (居委会 0xx–1xx)
        code = f"{town_code}{200 + number:03d}"
        prefix = f"{town_name}{name}"
        territory.add(
            PlannedNode(
                code, name, NodeKind.VILLAGE, town_code, rectangle(cell),
                residents=0 if grids else residents, region=region, address_prefix=prefix,
            )
        )
        for grid_number, grid_cell in enumerate(split(cell, grids) if grids else [], start=1):
            territory.add(
                PlannedNode(
                    f"{code}-{grid_number:02d}", f"{name}第{'一二三四五'[grid_number - 1]}网格", NodeKind.GRID, code,
                    rectangle(grid_cell), residents=residents, region=region, address_prefix=prefix,
                )
            )


def _administrative(territory: Territory) -> None:
    territory.add(
        PlannedNode(DEVELOPMENT_ZONE_CODE, "聊城经济技术开发区", NodeKind.DISTRICT, CITY_CODE,
                    rectangle(DEVELOPMENT_ZONE_BOUNDS))
    )
    for town_code, town_name, bounds, communities in _DEVELOPMENT_ZONE_STREETS:
        territory.add(PlannedNode(town_code, town_name, NodeKind.TOWN, DEVELOPMENT_ZONE_CODE, rectangle(bounds)))
        for number, (name, cell) in enumerate(zip(communities, split(bounds, 3), strict=True), start=1):
            territory.add(
                PlannedNode(
                    f"{town_code}{number:03d}", name, NodeKind.VILLAGE, town_code, rectangle(cell),
                    residents=COMMUNITY_RESIDENTS, region=DONGCHANGFU_REGION, urban=True,
                    address_prefix=f"{town_name}{name}",
                )
            )

    territory.add(
        PlannedNode(SHENXIAN_CODE, "莘县", NodeKind.DISTRICT, CITY_CODE, rectangle((115.40, 35.95, 115.85, 36.40)))
    )
    for town in _SHENXIAN_TOWNS:
        _rural_town(territory, SHENXIAN_CODE, SHENXIAN_REGION, town)

    territory.add(
        PlannedNode(HIGH_TECH_ZONE_CODE, "聊城高新区", NodeKind.DISTRICT, CITY_CODE,
                    rectangle((116.10, 36.36, 116.22, 36.44)))
    )
    for town in _HIGH_TECH_TOWNS:
        _rural_town(territory, HIGH_TECH_ZONE_CODE, DONGCHANGFU_REGION, town)


# ---------------------------------------------------------------------------------------------
# Policing part (分级包干): brigade → 片 (zone) → 线 (line, a road corridor) → 点段 (post)

# Cross streets of the development zone, west to east (lon); the page names 振华超市 as a hot spot
# on 东昌东路, so it is an intersection post of its own.
_CROSS_STREETS = {
    "中华路": 116.0050, "北京路": 116.0200, "振华超市": 116.0420, "嫩江路": 116.0520, "松花江路": 116.0650,
    "黑龙江路": 116.0780, "珠江路": 116.0900,
}
_AVENUES = {"湖南路": 36.4720, "东昌东路": 36.4560, "黄河路": 36.4400, "长江路": 36.4280}

# zone name, bounds, lines; a line is (road, orientation, posts); a post is a cross street or a
# (from, to) pair for a road segment (路段)
_ZONES: list[tuple[str, Bounds, list[tuple[str, str, list[str | tuple[str, str]]]]]] = [
    (
        "东昌东路片区", (116.030, 36.448, 116.100, 36.490),
        [
            ("东昌东路", "east-west", ["振华超市", "嫩江路", "松花江路", ("松花江路", "黑龙江路"), "黑龙江路"]),
            ("湖南路", "east-west", ["嫩江路", "松花江路", "珠江路"]),
        ],
    ),
    (
        "黄河路片区", (116.030, 36.420, 116.100, 36.448),
        [
            ("黄河路", "east-west", ["嫩江路", "松花江路", ("黑龙江路", "珠江路"), "珠江路"]),
            ("长江路", "east-west", ["嫩江路", "黑龙江路"]),
        ],
    ),
    (
        "中华路片区", (115.985, 36.420, 116.030, 36.490),
        [
            ("中华路", "north-south", ["湖南路", "东昌东路", "黄河路"]),
            ("北京路", "north-south", ["东昌东路", "长江路"]),
        ],
    ),
]
# Half a block (~100 m) between an intersection and where a road segment post begins.
_SEGMENT_SETBACK = 0.0012


def _policing(territory: Territory) -> None:
    territory.add(
        PlannedNode(BRIGADE_CODE, "聊城开发区交警大队", NodeKind.BRIGADE, DEVELOPMENT_ZONE_CODE,
                    rectangle(DEVELOPMENT_ZONE_BOUNDS))
    )
    line_number = 0
    for zone_number, (zone_name, bounds, lines) in enumerate(_ZONES, start=1):
        zone_code = f"{BRIGADE_CODE}-P{zone_number}"
        territory.add(PlannedNode(zone_code, zone_name, NodeKind.ZONE, BRIGADE_CODE, rectangle(bounds)))
        west, south, east, north = bounds
        for road, orientation, posts in lines:
            line_number += 1
            line_code = f"{zone_code}-X{line_number:02d}"
            if orientation == "east-west":
                lat = _AVENUES[road]
                territory.add(
                    PlannedNode(line_code, road, NodeKind.LINE, zone_code, line((west + 0.002, lat), (east - 0.002, lat)))
                )
            else:
                lon = _CROSS_STREETS[road]
                territory.add(
                    PlannedNode(line_code, road, NodeKind.LINE, zone_code, line((lon, south + 0.002), (lon, north - 0.002)))
                )
            for post_number, post in enumerate(posts, start=1):
                code = f"{line_code}-D{post_number:02d}"
                if isinstance(post, tuple):
                    start, end = post
                    name = f"{road}（{start}—{end}）路段"
                    if orientation == "east-west":
                        lat = _AVENUES[road]
                        geometry = line(
                            (_CROSS_STREETS[start] + _SEGMENT_SETBACK, lat), (_CROSS_STREETS[end] - _SEGMENT_SETBACK, lat)
                        )
                    else:
                        lon = _CROSS_STREETS[road]
                        geometry = line((lon, _AVENUES[start] - _SEGMENT_SETBACK), (lon, _AVENUES[end] + _SEGMENT_SETBACK))
                else:
                    name = f"{road}·{post.removesuffix('路')}路口"
                    if orientation == "east-west":
                        geometry = point(_CROSS_STREETS[post], _AVENUES[road])
                    else:
                        geometry = point(_CROSS_STREETS[road], _AVENUES[post])
                territory.add(PlannedNode(code, name, NodeKind.POST, line_code, geometry))


def territory() -> Territory:
    """The whole demo tree, parents before children."""
    planned = Territory()
    planned.add(PlannedNode(CITY_CODE, "聊城市", NodeKind.CITY, None, rectangle((115.20, 35.78, 116.60, 37.03))))
    _administrative(planned)
    _policing(planned)
    return planned
