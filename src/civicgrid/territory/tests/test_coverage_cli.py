"""`civicgrid coverage`: the system actor's report from the root nodes, a subtree, a past date, and
the .xlsx it writes."""

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from civicgrid.territory.models import NodeKind, ResponsibilityRole
from civicgrid.territory.services import assignment_start
from civicgrid.testing import factories


def run(*args):
    out = io.StringIO()
    call_command("coverage", *args, stdout=out)
    return out.getvalue().splitlines()


@pytest.fixture
def covered_village(world):
    return assignment_start(actor=None, person=world.person_a, node=world.village_a,
                            role=ResponsibilityRole.VILLAGE_CADRE, valid_from=dt.date(2024, 1, 1))


def test_whole_tree_summary_and_gap_lines(world, covered_village):
    lines = run("--on", "2024-06-01")
    assert lines == [
        "包干覆盖报告  范围：高新区  统计日期：2024-06-01",
        "需配第一责任人：4  已覆盖：1  缺口：3  覆盖率：25.0%",
        "",
        "类型\t编码\t名称\t上级路径\t缺少的责任角色",
        "镇/街道\t371571100\t顾官屯镇\t高新区\t包镇领导",
        "镇/街道\t371571101\t许营镇\t高新区\t包镇领导",
        "村/社区\t371571101201\t前寨村\t高新区 / 许营镇\t包村干部",
    ]


def test_subtree_and_a_date_before_the_assignment(world, covered_village):
    lines = run("--node", "371571100", "--on", "2023-12-31")
    assert lines[0] == "包干覆盖报告  范围：顾官屯镇（371571100）  统计日期：2023-12-31"
    assert lines[1] == "需配第一责任人：2  已覆盖：0  缺口：2  覆盖率：0.0%"
    assert lines[-1] == "村/社区\t371571100201\t枣寨村\t高新区 / 顾官屯镇\t包村干部"


def test_everything_covered_says_so(world, covered_village):
    assert run("--node", "371571100201", "--on", "2024-06-01")[1:] == [
        "需配第一责任人：1  已覆盖：1  缺口：0  覆盖率：100.0%",
        "全部覆盖，没有缺口。",
    ]


def test_several_roots_are_all_in_the_console_scope(world):
    other = factories.node(None, NodeKind.DISTRICT, "东昌府区", code="371502")
    factories.node(other, NodeKind.TOWN, "古楼街道", code="371502001")
    lines = run()
    assert lines[0].startswith("包干覆盖报告  范围：高新区、东昌府区  统计日期：")
    assert lines[1] == "需配第一责任人：5  已覆盖：0  缺口：5  覆盖率：0.0%"
    assert "镇/街道\t371502001\t古楼街道\t东昌府区\t包镇领导" in lines


def test_writes_the_xlsx(world, covered_village, tmp_path):
    factories.node(world.village_b, NodeKind.GRID, "+cmd|' /C calc'!A0", code="G9")
    target = tmp_path / "coverage.xlsx"
    lines = run("--on", "2024-06-01", "--xlsx", str(target))
    assert lines[-1] == f"已写出 {target}（4 行缺口）"
    book = load_workbook(target)
    rows = [[cell.value for cell in row] for row in book["缺口清单"].iter_rows()]
    assert rows[0] == ["类型", "编码", "名称", "上级路径", "缺少的责任角色"]
    assert rows[-1] == ["网格", "G9", "'+cmd|' /C calc'!A0", "高新区 / 许营镇 / 前寨村", "网格员"]
    assert len(rows) == 5
    summary = {row[0].value: row[1].value for row in book["汇总"].iter_rows(min_row=2)}
    assert summary == {"范围": "高新区", "统计日期": "2024-06-01", "需配第一责任人的节点": 5, "已覆盖": 1,
                       "缺口": 4, "覆盖率(%)": 20.0}


def test_bad_arguments_are_command_errors(world):
    with pytest.raises(CommandError, match="没有编码为 NOPE 的有效节点"):
        run("--node", "NOPE")
    with pytest.raises(CommandError, match="日期格式应为 YYYY-MM-DD"):
        run("--on", "2024/06/01")
    with pytest.raises(CommandError, match="无法写入"):
        run("--xlsx", "/nonexistent-dir/x.xlsx")


def test_the_console_entry_point_runs_it(world, capsys):
    from civicgrid.cli import main

    main(["coverage", "--on", "2024-06-01"])
    assert "需配第一责任人：4  已覆盖：0  缺口：4  覆盖率：0.0%" in capsys.readouterr().out
