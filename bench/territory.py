"""The benchmark's territory: Liaocheng city, its eight counties/districts, towns, villages and grids.

`layout()` is pure data, shared with the file generator (which needs the grid codes) and with
`create()`, which writes the tree into the benchmark database through `node_create` so path and
depth are computed the way the application computes them.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY_CODE = "3715"
CITY_NAME = "聊城市"
# GB/T 2260 codes of Liaocheng's county-level divisions.
DISTRICTS: tuple[tuple[str, str], ...] = (
    ("371502", "东昌府区"),
    ("371503", "茌平区"),
    ("371521", "阳谷县"),
    ("371522", "莘县"),
    ("371524", "东阿县"),
    ("371525", "冠县"),
    ("371526", "高唐县"),
    ("371581", "临清市"),
)
TOWN_STEMS = (
    "古楼",
    "柳园",
    "新区",
    "湖西",
    "道口铺",
    "闫寺",
    "堂邑",
    "梁水",
    "斗虎屯",
    "郑家",
    "沙镇",
    "朱老庄",
    "顾官屯",
    "侯营",
    "张炉集",
    "许营",
    "李台",
    "石佛",
    "十八里铺",
    "狮子楼",
    "大张家",
    "阿城",
    "寿张",
    "定水",
)
VILLAGE_STEMS = (
    "王",
    "张",
    "李",
    "刘",
    "孙",
    "赵",
    "杨",
    "陈",
    "徐",
    "马",
    "高",
    "于",
    "孔",
    "田",
    "周",
    "吴",
    "郭",
    "董",
    "韩",
    "崔",
    "侯",
    "姜",
    "魏",
    "贾",
    "冯",
    "范",
    "蔡",
    "耿",
    "邢",
    "袁",
    "曹",
    "任",
)
VILLAGE_SUFFIXES = ("庄村", "家村", "营村", "屯村", "楼村", "集村", "官屯村", "洼村")
TOWNS_PER_DISTRICT = 4
VILLAGES_PER_TOWN = 6
GRIDS_PER_VILLAGE = 2


@dataclass(frozen=True)
class NodeSpec:
    """One node to create: its code, name, kind and the code of its parent (None for the root)."""

    code: str
    name: str
    kind: str
    parent_code: str | None
    district_code: str = ""


def layout() -> list[NodeSpec]:
    """Every node of the benchmark territory, parents before children (617 nodes, 384 grids)."""
    nodes = [NodeSpec(CITY_CODE, CITY_NAME, "city", None)]
    for district_index, (district_code, district_name) in enumerate(DISTRICTS):
        nodes.append(NodeSpec(district_code, district_name, "district", CITY_CODE, district_code))
        for town_index in range(TOWNS_PER_DISTRICT):
            town_code = f"{district_code}{town_index + 1:03d}"
            stem = TOWN_STEMS[(district_index * TOWNS_PER_DISTRICT + town_index) % len(TOWN_STEMS)]
            town_name = f"{stem}{'街道' if town_index == 0 else '镇'}"
            nodes.append(NodeSpec(town_code, town_name, "town", district_code, district_code))
            for village_index in range(VILLAGES_PER_TOWN):
                village_code = f"{town_code}{village_index + 1:03d}"
                seed = district_index * 97 + town_index * 13 + village_index * 7
                village_name = (
                    VILLAGE_STEMS[seed % len(VILLAGE_STEMS)] + VILLAGE_SUFFIXES[seed % len(VILLAGE_SUFFIXES)]
                )
                nodes.append(NodeSpec(village_code, village_name, "village", town_code, district_code))
                for grid_index in range(GRIDS_PER_VILLAGE):
                    nodes.append(
                        NodeSpec(
                            f"{village_code}{grid_index + 1:02d}",
                            f"{village_name}第{grid_index + 1}网格",
                            "grid",
                            village_code,
                            district_code,
                        )
                    )
    return nodes


def grids() -> list[NodeSpec]:
    """The leaf grids, where residents are registered."""
    return [node for node in layout() if node.kind == "grid"]


def full_names() -> dict[str, str]:
    """Grid code -> '东昌府区古楼街道王庄村' (district, town, village), for generated addresses."""
    by_code = {node.code: node for node in layout()}
    names = {}
    for node in by_code.values():
        if node.kind != "grid":
            continue
        village = by_code[node.parent_code or ""]
        town = by_code[village.parent_code or ""]
        district = by_code[town.parent_code or ""]
        names[node.code] = f"{district.name}{town.name}{village.name}"
    return names


def create() -> int:
    """Write the territory into the configured database (Django must be set up); return the node count."""
    from civicgrid.territory.models import Node
    from civicgrid.territory.services import node_create

    created: dict[str, Node] = {}
    for spec in layout():
        parent = created[spec.parent_code] if spec.parent_code else None
        created[spec.code] = node_create(
            actor=None, parent=parent, kind=spec.kind, code=spec.code, name=spec.name
        )
    return len(created)
