"""English UI and the completeness of the English catalog (src/civicgrid/locale/en/LC_MESSAGES).

The source language is Simplified Chinese; every msgid needs an English msgstr. When a test here fails
because of a new or changed string, refresh the catalog (see REFRESH below), translate the empty or
fuzzy entries in django.po, compile, and commit both django.po and django.mo.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

import civicgrid
from civicgrid.testing.factories import PASSWORD
from civicgrid.testing.fixtures import World

PACKAGE_DIR = Path(civicgrid.__file__).resolve().parent  # src/civicgrid
LOCALE_DIR = PACKAGE_DIR / "locale"
PO_PATH = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
MO_PATH = LOCALE_DIR / "en" / "LC_MESSAGES" / "django.mo"
MAKEMESSAGES_OPTIONS: dict[str, Any] = {
    "locale": ["en"],
    "ignore_patterns": ["*/tests/*", "testing/*"],
    "no_obsolete": True,
}
REFRESH = (
    "Refresh the English catalog: `make messages` (= cd src/civicgrid && "
    "PYTHONPATH=$PWD/.. CIVICGRID_DATA_DIR=/tmp/civicgrid-i18n ../../.venv/bin/django-admin makemessages -l en "
    "--settings=civicgrid.config.settings.dev --ignore='*/tests/*' --ignore='testing/*' --no-obsolete), "
    "translate every empty or fuzzy entry in src/civicgrid/locale/en/LC_MESSAGES/django.po (and delete the "
    "'#, fuzzy' line), then `make compilemessages` (= django-admin compilemessages) and commit django.po and django.mo."
)

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
QUOTED_CJK = re.compile(r"“[^”]*”")  # a Chinese name quoted on purpose, e.g. the “编码” column of a file
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|\{(\w*)\}")


@pytest.fixture(autouse=True)
def _no_language_left_active() -> Iterator[None]:
    """LocaleMiddleware activates English in the test thread and nothing deactivates it after a test-client
    request: leave the thread as we found it (default language), so later tests still get 简体中文."""
    yield
    translation.deactivate()


# --- a tiny .po reader (polib is not a dependency) -------------------------------------------------------


@dataclass
class Entry:
    msgid: str
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


def _unquote(text: str) -> str:
    # PO strings use C escapes (\" \\ \n \t), which a Python string literal reads the same way.
    return ast.literal_eval(text.strip())


def read_po(path: Path) -> list[Entry]:
    """Entries of a .po file, header (msgid "") first; obsolete (#~) entries are skipped."""
    entries: list[Entry] = []
    flags: set[str] = set()
    current: Entry | None = None
    target: tuple[str, int] = ("msgid", 0)
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#,"):
            flags |= {flag.strip() for flag in line[2:].split(",")}
        elif not line or line.startswith("#"):
            continue
        elif line.startswith("msgid_plural "):
            assert current is not None
            current.msgid_plural = _unquote(line[len("msgid_plural ") :])
            target = ("msgid_plural", 0)
        elif line.startswith("msgid "):
            current = Entry(msgid=_unquote(line[len("msgid ") :]), flags=flags, line=number)
            entries.append(current)
            flags, target = set(), ("msgid", 0)
        elif line.startswith("msgstr"):
            assert current is not None
            match = re.match(r"msgstr(?:\[(\d+)\])? (.*)$", line)
            assert match, f"{path}:{number}: cannot read {raw!r}"
            index = int(match.group(1) or 0)
            current.msgstr[index] = _unquote(match.group(2))
            target = ("msgstr", index)
        elif line.startswith('"'):
            assert current is not None
            text = _unquote(line)
            if target[0] == "msgstr":
                current.msgstr[target[1]] += text
            elif target[0] == "msgid_plural":
                current.msgid_plural = (current.msgid_plural or "") + text
            else:
                current.msgid += text
    return entries


def problems(entries: list[Entry]) -> list[str]:
    """Every entry that is fuzzy, untranslated, still Chinese, or whose placeholders differ from the msgid."""
    found = []
    for entry in entries:
        if entry.msgid == "":
            if "fuzzy" in entry.flags:
                found.append("the header is marked fuzzy")
            continue
        where = f"line {entry.line}: {entry.msgid!r}"
        if "fuzzy" in entry.flags:
            found.append(f"{where} is fuzzy (check the translation, then delete '#, fuzzy')")
        forms = entry.msgstr.values()
        if not forms or not all(forms):
            found.append(f"{where} has no English translation")
            continue
        wanted = sorted(PLACEHOLDER.findall(entry.msgid))
        for index, text in entry.msgstr.items():
            if CJK.search(QUOTED_CJK.sub("", text)):
                found.append(f"{where} msgstr[{index}] is not English: {text!r}")
            if sorted(PLACEHOLDER.findall(text)) != wanted:
                found.append(f"{where} msgstr[{index}] changes the placeholders: {text!r}")
    return found


# --- the catalog -----------------------------------------------------------------------------------------


def test_english_catalog_is_complete() -> None:
    """Every msgid of the committed django.po has a non-fuzzy English msgstr with the same placeholders."""
    assert PO_PATH.exists(), f"{PO_PATH} is missing. {REFRESH}"
    entries = read_po(PO_PATH)
    assert entries, f"{PO_PATH} is empty"
    assert entries[0].msgid == "", "django.po has no header"
    assert "Language: en\n" in entries[0].msgstr[0]
    assert len(entries) > 100, "django.po looks truncated"
    found = problems(entries)
    assert not found, f"{len(found)} problem(s) in {PO_PATH}:\n  " + "\n  ".join(found) + f"\n{REFRESH}"


def test_compiled_catalog_matches_po() -> None:
    """django.mo holds exactly the translations of django.po (it is committed; compile after every edit)."""
    assert MO_PATH.exists(), f"{MO_PATH} is missing. {REFRESH}"
    expected: dict[Any, str] = {}
    for entry in read_po(PO_PATH):
        if entry.msgid == "" or "fuzzy" in entry.flags:
            continue
        if entry.msgid_plural is None:
            expected[entry.msgid] = entry.msgstr.get(0, "")
        else:
            expected.update({(entry.msgid, index): text for index, text in entry.msgstr.items()})
    with MO_PATH.open("rb") as handle:
        compiled = dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]
    compiled.pop("", None)
    missing = sorted(str(key) for key in expected if key not in compiled)
    stale = sorted(str(key) for key in compiled if key not in expected)
    changed = sorted(str(key) for key in expected if key in compiled and compiled[key] != expected[key])
    assert missing + stale + changed == [], (
        f"django.mo is out of date with django.po: {len(missing)} missing, {len(stale)} stale, "
        f"{len(changed)} changed (e.g. {(missing + stale + changed)[:5]}). {REFRESH}"
    )


SOURCE_SUFFIXES = {".py", ".html", ".txt", ".po"}  # what makemessages reads (django domain) and merges into
SKIPPED_DIRS = {"__pycache__", "static", "tests", "testing", "media", "var", "node_modules"}


def _not_a_source(directory: str, names: list[str]) -> list[str]:
    """copytree filter: keep the package's source files and locale, nothing else."""
    base = Path(directory)
    return [
        name
        for name in names
        if name in SKIPPED_DIRS or ((base / name).is_file() and Path(name).suffix not in SOURCE_SUFFIXES)
    ]


def test_catalog_covers_every_marked_string(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """makemessages on a copy of the sources finds no string that the committed django.po lacks."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        if os.environ.get("CI"):
            pytest.fail("GNU gettext is missing and CI is set: .ci/run installs it, this check is mandatory there")
        pytest.skip("GNU gettext (xgettext, msgmerge) is not installed: apt-get install gettext")
    copy = tmp_path / "civicgrid"
    assert (PACKAGE_DIR / "config" / "settings").is_dir(), PACKAGE_DIR  # never copy anything but the package
    shutil.copytree(PACKAGE_DIR, copy, ignore=_not_a_source)
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", verbosity=0, **MAKEMESSAGES_OPTIONS)
    fresh = read_po(copy / "locale" / "en" / "LC_MESSAGES" / "django.po")
    committed = {entry.msgid for entry in read_po(PO_PATH)}
    new = [entry.msgid for entry in fresh if entry.msgid not in committed]
    found = problems(fresh)
    assert new + found == [], (
        f"{len(new)} string(s) marked for translation in the sources are not in django.po yet "
        f"(e.g. {new[:8]}); after merging, {len(found)} entr(ies) lack an English translation:\n  "
        + "\n  ".join(found[:40])
        + f"\n{REFRESH}"
    )


# --- pages -----------------------------------------------------------------------------------------------


class _VisibleText(HTMLParser):
    """Text a person reads: element text outside script/style, plus labels carried by attributes."""

    ATTRIBUTES = ("aria-label", "title", "placeholder", "alt", "data-error")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.parts.extend(value for name, value in attrs if name in self.ATTRIBUTES and value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def switch_to_english(client: Client, next_url: str) -> Any:
    response = client.post(reverse("set_language"), {"language": "en", "next": next_url})
    assert response.status_code == 302, response
    assert response["Location"] == next_url
    return client.get(next_url)


def world_data(world: World, *extra: str) -> list[str]:
    """Names that come from the data (place and person names stay Chinese in an English UI)."""
    nodes = [world.district, world.town_a, world.town_b, world.village_a, world.village_b]
    return [*(node.name for node in nodes), world.person_a.name, world.person_b.name, "简体中文", *extra]


def leftover_chinese(text: str, data: list[str]) -> list[str]:
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, "")
    return [line for line in text.splitlines() if CJK.search(line)]


# Labels of the shared layout that must not survive in English.
LAYOUT_CHINESE = ["首页", "退出", "修改密码", "网格化治理", "切换", "网格与地图", "人员库", "包干覆盖"]
LAYOUT_ENGLISH = ["Home", "Log out", "Change password", "grid governance", "Switch", "Grid and map"]


def test_default_language_is_chinese(client: Client) -> None:
    response = client.get(reverse("login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "登录" in html
    assert "密码" in html
    assert "Log in" not in html


def test_login_page_in_english_after_switching(client: Client) -> None:
    response = switch_to_english(client, reverse("login"))
    html = response.content.decode()
    text = visible_text(html)
    assert response.status_code == 200
    assert '<html lang="en">' in html
    for label in ("Log in", "Username", "Password", "civicgrid grid governance platform", "Switch"):
        assert label in text, label
    for label in ("登录", "账号", "密码", "网格化治理平台", "切换"):
        assert label not in text, label
    assert leftover_chinese(text, ["简体中文"]) == []


def test_english_stays_after_login(client: Client, admin_user: Any) -> None:
    switch_to_english(client, reverse("login"))
    response = client.post(
        reverse("login"), {"username": admin_user.username, "password": PASSWORD}, follow=True
    )
    text = visible_text(response.content.decode())
    assert response.status_code == 200
    for label in ("Hello,", "Home", "Person registry"):
        assert label in text, label
    for label in ("您好", "首页", "人员库"):
        assert label not in text, label


@pytest.mark.parametrize(
    ("url_name", "english", "chinese"),
    [
        (
            "web:home",
            [
                "Hello,",
                "Responsibility coverage",
                "Nodes without a primary person",
                "District / development zone",
            ],
            ["您好", "包干覆盖率", "缺少第一责任人", "区县/开发区"],
        ),
        (
            "territory:tree",
            [
                "Grid tree",
                "Coverage report",
                "Locate by coordinates",
                "Map",
                "Town / subdistrict",
                "Loading…",
            ],
            ["网格树", "包干覆盖报告", "坐标定位", "地图", "镇/街道", "加载中"],
        ),
        (
            "people:list",
            ["Person registry", "Search", "Name", "ID number", "Phone", "Grid", "Male"],
            ["姓名", "身份证号", "联系电话", "所属网格", "搜索", "脱敏", "男"],
        ),
    ],
    ids=["home", "territory-tree", "people-list"],
)
def test_signed_in_page_in_english(
    client: Client, world: World, admin_user: Any, url_name: str, english: list[str], chinese: list[str]
) -> None:
    client.force_login(admin_user)
    url = reverse(url_name)
    chinese_text = visible_text(client.get(url).content.decode())
    assert "首页" in chinese_text  # the default before switching

    response = switch_to_english(client, url)
    html = response.content.decode()
    text = visible_text(html)
    assert response.status_code == 200
    assert '<html lang="en">' in html
    for label in LAYOUT_ENGLISH + english:
        assert label in text, f"{label!r} missing from the English {url_name}"
    for label in LAYOUT_CHINESE + chinese:
        assert label not in text, f"{label!r} left in Chinese on the English {url_name}"
    leftovers = leftover_chinese(text, world_data(world, str(admin_user)))
    assert leftovers == [], f"Chinese text left on the English {url_name}: {leftovers}. {REFRESH}"


def test_switching_back_to_chinese(client: Client, world: World, admin_user: Any) -> None:
    client.force_login(admin_user)
    url = reverse("web:home")
    switch_to_english(client, url)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    text = visible_text(client.get(url).content.decode())
    assert "首页" in text
    assert "包干覆盖率" in text
    assert "Home" not in text


# --- API schema ------------------------------------------------------------------------------------------


def test_api_schema_in_the_readers_language(client: Client, settings: Any, admin_user: Any) -> None:
    """Summaries and descriptions of the OpenAPI schema are marked in the routers and translated when
    the schema is rendered; the Chinese default stays Chinese."""
    client.force_login(admin_user)
    chinese = client.get("/api/openapi.json").json()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get("/api/openapi.json").json()

    def texts(schema: dict[str, Any]) -> tuple[str, str, str, str, str]:
        cases = schema["paths"]["/api/cases/"]["get"]
        imports = schema["paths"]["/api/imports/"]["post"]
        version = schema["components"]["schemas"]["CaseOut"]["properties"]["version"]
        return (
            schema["info"]["description"], cases["summary"], imports["summary"], version["description"],
            cases["responses"]["404"]["description"],
        )

    assert texts(chinese) == (
        "网格化治理平台接口：网格、包干责任、人员库。所有列表与详情均按数据范围过滤。", "问题列表（工作队列）", "导入文件",
        "乐观锁版本：每个变更请求须带上读取时的版本", "不存在或不在数据范围内",
    )
    assert texts(english) == (
        "Grid governance platform API: grid, responsibilities, person registry. "
        "Every list and detail is filtered by the caller's data scope.",
        "Cases (work queues)", "Start an import",
        "Optimistic-lock version: every change request must send the version it read",
        "Missing or outside the data scope",
    )
    operations = [operation for item in english["paths"].values() for operation in item.values()]
    untranslated = [operation["summary"] for operation in operations if CJK.search(operation.get("summary", ""))]
    assert untranslated == []
