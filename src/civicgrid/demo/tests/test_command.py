"""`civicgrid demo` on an empty or foreign database: what it prints, what it refuses to touch."""

from __future__ import annotations

import io
import unicodedata

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Role
from civicgrid.demo import builder
from civicgrid.demo.management.commands.demo import format_table
from civicgrid.people.models import Person
from civicgrid.territory.models import Node, NodeKind
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_fresh_build_prints_counts_gaps_and_logins() -> None:
    out = io.StringIO()
    call_command("demo", stdout=out)
    text = out.getvalue()
    assert "演示数据已创建" in text
    assert f"人员：{Person.objects.count()}" in text
    assert "包干缺口（5）：" in text
    for name in builder.DEMO_GAP_NAMES:
        assert name in text
    for login in builder.DEMO_LOGINS:
        line = next(row for row in text.splitlines() if row.startswith(login.username + " "))
        assert login.role_label in line
        assert login.name in line
    assert f"演示账号统一密码：{builder.DEMO_PASSWORD}" in text


def test_refuses_a_371500_tree_it_did_not_build() -> None:
    factories.node(None, NodeKind.CITY, "聊城市", code=builder.DEMO_ROOT_CODE)
    for options in ({}, {"reset": True}):
        with pytest.raises(CommandError, match="不是演示数据"):
            call_command("demo", quiet=True, **options)
    with translation.override("en"), pytest.raises(CommandError, match="is not demo data; nothing was changed"):
        call_command("demo", quiet=True)
    assert Node.objects.count() == 1
    assert not User.objects.exists()


def test_does_not_take_over_an_existing_account() -> None:
    factories.UserFactory(username="zhao.liangcheng", role=Role.VILLAGE_CADRE)
    with pytest.raises(CommandError, match="zhao.liangcheng"):
        call_command("demo", quiet=True)
    # one transaction: nothing of the demo is left behind
    assert not Node.objects.exists()
    assert not Person.objects.exists()
    assert User.objects.get(username="zhao.liangcheng").role == Role.VILLAGE_CADRE


def test_table_columns_line_up_with_chinese_text() -> None:
    table = format_table(("账号", "角色"), [("zhang.hao", "民警/辅警（包点段）"), ("a", "审计员")])
    lines = table.splitlines()
    assert len(lines) == 4
    # the second column starts at the same terminal column on every line
    starts = [_display_width(line[: line.index(cell)]) for line, cell in zip(lines, ["角色", "-", "民警", "审计员"], strict=True)]
    assert starts[0] == starts[2] == starts[3] == len("zhang.hao") + 2
    assert lines[2].startswith("zhang.hao  民警")
