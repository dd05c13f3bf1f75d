"""Synthetic but realistic residents for the demo (facts and caveats: shared docs domain.md §5).

Families rather than independent individuals: children carry the father's surname and are born
when their mother is 21–33, wives often come from another county of Liaocheng (so their ID
numbers carry that county's code), and villages named after a clan (徐庄, 西李楼) are dominated by
that surname. Everything is drawn from one seeded `random.Random`, so the world is the same on
every run.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from civicgrid.core import idnumber

# Liaocheng surname weights in percent (domain.md §5.4, [UNVERIFIED] regional skew) ...
_MAIN_SURNAMES = {
    "王": 10, "张": 9, "李": 9, "刘": 7, "赵": 3, "孙": 3, "杨": 3, "陈": 2.5, "马": 2, "高": 2, "徐": 1.8,
    "郭": 1.6, "朱": 1.5, "于": 1.5, "田": 1.2, "韩": 1.2, "宋": 1.2, "魏": 1, "吕": 1, "崔": 1,
}
# ... and the rest of the national top-100 order sharing what is left, tapering off.
_OTHER_SURNAMES = tuple("黄吴周胡何林罗郑梁谢唐许冯邓曹彭曾肖董袁潘蒋蔡贾程秦姜范侯邵孟薛杜闫段雷苏常武付尹石岳鲁顾庞申耿葛牛")
_OTHER_SHARE = 100 - sum(_MAIN_SURNAMES.values())
_TAPER = [1.0 / (rank + 8) for rank in range(len(_OTHER_SURNAMES))]
SURNAME_WEIGHTS: dict[str, float] = {
    **_MAIN_SURNAMES,
    **{name: _OTHER_SHARE * t / sum(_TAPER) for name, t in zip(_OTHER_SURNAMES, _TAPER, strict=True)},
}

# Given names by birth cohort (domain.md §5.4): generation-marked names for the old, the
# "revolutionary" names of the 1960s–70s, one-character names of the 1980s–90s, the literary
# names of the 2000s on.
GIVEN_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("old", "M"): ("建国", "国庆", "树林", "德胜", "洪亮", "广田", "金山", "玉田", "长林", "连生", "书文", "传礼",
                   "庆祥", "兆丰", "福顺", "广德", "春山", "永年", "守信", "明德"),
    ("old", "F"): ("秀英", "桂兰", "玉珍", "凤英", "桂英", "秀兰", "玉兰", "淑珍", "素芬", "翠花", "金花", "玉梅",
                   "凤兰", "桂芝", "秀云", "春兰", "玉芹", "秀荣"),
    ("middle", "M"): ("志强", "建军", "卫东", "红军", "国强", "建华", "永刚", "立新", "海军", "振国", "新民", "文明",
                      "春雷", "庆华", "保国", "学军", "卫国", "长江", "东升", "建设"),
    ("middle", "F"): ("丽华", "红霞", "秀梅", "玉霞", "建英", "春梅", "海燕", "丽娟", "桂芳", "艳红", "彩霞", "红梅",
                      "爱华", "美玲", "秀芹", "俊英", "凤霞", "文静"),
    ("young", "M"): ("伟", "磊", "涛", "鹏", "勇", "强", "超", "明", "军", "亮", "刚", "浩", "帅", "伟东", "晓东",
                     "海涛", "文博", "鹏飞", "志伟", "俊杰", "振宇", "晓明"),
    ("young", "F"): ("静", "丽", "娜", "敏", "燕", "婷", "芳", "晓燕", "丽丽", "婷婷", "雪梅", "倩", "莉", "慧", "晶晶",
                     "亚楠", "晓琳", "璐"),
    ("child", "M"): ("浩然", "梓轩", "宇轩", "子豪", "浩宇", "一鸣", "博文", "俊熙", "子墨", "锦程", "睿泽", "思远",
                     "沐阳", "皓轩", "宇航", "子涵"),
    ("child", "F"): ("欣怡", "梓涵", "诗涵", "雨桐", "可馨", "一诺", "语桐", "紫萱", "梓萱", "若曦", "佳怡", "思雨",
                     "欣妍", "雨涵", "子涵"),
}

# Counties wives and incoming residents come from (GB/T 2260). 茌平 became a district (371503)
# only in 2019; numbers issued before keep 茌平县 371523 (domain.md §5.2).
LIAOCHENG_COUNTY_REGIONS = ("371502", "371521", "371522", "371523", "371524", "371525", "371526", "371581")

# Mobile number prefixes of the three operators.
_MOBILE_PREFIXES = (
    "134", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "182", "183", "187", "188",
    "130", "131", "132", "155", "156", "185", "186", "133", "153", "177", "180", "181", "189",
)
# Latest birth year drawn: the world is "as of" the mid-2020s, so the youngest are toddlers.
LAST_BIRTH_YEAR = 2024
_CLAN_PREFIXES = "前后东西南北大小上下"


def cohort(birth_year: int) -> str:
    """The naming cohort of a birth year."""
    if birth_year < 1960:
        return "old"
    if birth_year < 1980:
        return "middle"
    if birth_year < 2000:
        return "young"
    return "child"


def clan_surname(place_name: str) -> str | None:
    """The surname a village is named after (徐庄 → 徐, 西李楼 → 李, 小张营村 → 张), if any."""
    name = place_name.lstrip(_CLAN_PREFIXES)
    return name[0] if name and name[0] in SURNAME_WEIGHTS else None


@dataclass(frozen=True)
class Resident:
    """One synthetic person; sex and birth date are encoded in (and agree with) the ID number."""

    name: str
    sex: str
    birth_date: dt.date
    id_number: str
    phone: str
    relation: str  # to the head of the household: 户主 / 配偶 / 子 / 女 / 父 / 母 / 儿媳 / 孙子 / 孙女


class ResidentMaker:
    """Draws names, ID numbers, phones and whole households from one seeded generator; ID numbers
    and phone numbers are never issued twice."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._issued: set[str] = set()
        self._phones: set[str] = set()
        self._surnames = list(SURNAME_WEIGHTS)
        self._surname_weights = list(SURNAME_WEIGHTS.values())

    # -- single facts ------------------------------------------------------------------------

    def surname(self, clan: str | None = None, clan_share: float = 0.4) -> str:
        """A surname by Liaocheng weights; in a clan village the clan's surname `clan_share` of the time."""
        if clan and self.rng.random() < clan_share:
            return clan
        return self.rng.choices(self._surnames, self._surname_weights)[0]

    def given_name(self, birth_year: int, sex: str) -> str:
        return self.rng.choice(GIVEN_NAMES[(cohort(birth_year), sex)])

    def birth_date(self, first_year: int, last_year: int) -> dt.date:
        year = self.rng.randint(first_year, min(last_year, LAST_BIRTH_YEAR))
        return dt.date(year, 1, 1) + dt.timedelta(days=self.rng.randrange(365))

    def id_number(self, region: str, birth_date: dt.date, sex: str) -> str:
        """A valid GB 11643 number; the sequence code's last digit is odd for men, even for women."""
        for _ in range(1000):
            # men 001–999 odd, women 002–998 even; 000 is not issued
            sequence = self.rng.randrange(0, 500) * 2 + 1 if sex == "M" else self.rng.randrange(1, 500) * 2
            value = idnumber.make(region, birth_date, sequence)
            if value not in self._issued:
                self._issued.add(value)
                return value
        raise RuntimeError(f"no free sequence number for {region} {birth_date}")  # pragma: no cover

    def phone(self, birth_date: dt.date) -> str:
        """A mobile number for most adults, fewer of the very old, none for children."""
        age = LAST_BIRTH_YEAR + 1 - birth_date.year
        if age < 16 or self.rng.random() > (0.55 if age >= 80 else 0.93):
            return ""
        return self.mobile()

    def mobile(self) -> str:
        """A mobile number not given to anyone else in the demo."""
        while True:
            number = self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self._phones:
                self._phones.add(number)
                return number

    def person(
        self, *, surname: str, sex: str, birth_date: dt.date, region: str, relation: str, given: str | None = None,
    ) -> Resident:
        return Resident(
            name=surname + (given or self.given_name(birth_date.year, sex)),
            sex=sex,
            birth_date=birth_date,
            id_number=self.id_number(region, birth_date, sex),
            phone=self.phone(birth_date),
            relation=relation,
        )

    def _wife_region(self, region: str) -> str:
        # Rural marriages cross county lines: about a quarter of wives were born elsewhere in the city.
        return self.rng.choice(LIAOCHENG_COUNTY_REGIONS) if self.rng.random() < 0.25 else region

    def _children(
        self, *, surname: str, mother_year: int, region: str, count: int, son: str, daughter: str,
    ) -> list[Resident]:
        children: list[Resident] = []
        year = mother_year + self.rng.randint(21, 27)
        for _ in range(count):
            if year > LAST_BIRTH_YEAR or year - mother_year > 40:
                break
            sex = "M" if self.rng.random() < 0.52 else "F"
            birth = self.birth_date(year, year)
            children.append(
                self.person(surname=surname, sex=sex, birth_date=birth, region=region,
                            relation=son if sex == "M" else daughter)
            )
            year += self.rng.randint(2, 6)
        return children

    # -- households --------------------------------------------------------------------------

    def household(self, region: str, clan: str | None = None) -> list[Resident]:
        """One household, head first: lone elders, elderly couples, young families, three generations."""
        kind = self.rng.random()
        surname = self.surname(clan)
        if kind < 0.12:
            # widowed elder living alone, more often a woman (she keeps her own surname)
            sex = "F" if self.rng.random() < 0.65 else "M"
            birth = self.birth_date(1932, 1958)
            return [self.person(surname=surname, sex=sex, birth_date=birth, region=region, relation="户主")]
        if kind < 0.32:
            husband = self.person(surname=surname, sex="M", birth_date=self.birth_date(1936, 1962), region=region,
                                  relation="户主")
            wife_birth = self.birth_date(husband.birth_date.year, husband.birth_date.year + 4)
            wife = self.person(surname=self.surname(), sex="F", birth_date=wife_birth,
                               region=self._wife_region(region), relation="配偶")
            return [husband, wife]
        if kind < 0.82:
            father_birth = self.birth_date(1962, 1998)
            husband = self.person(surname=surname, sex="M", birth_date=father_birth, region=region, relation="户主")
            wife_birth = self.birth_date(father_birth.year - 1, father_birth.year + 4)
            wife = self.person(surname=self.surname(), sex="F", birth_date=wife_birth,
                               region=self._wife_region(region), relation="配偶")
            count = self.rng.choices((1, 2, 3), (0.35, 0.5, 0.15))[0]
            members = [husband, wife, *self._children(
                surname=surname, mother_year=wife_birth.year, region=region,
                count=count, son="子", daughter="女",
            )]
            if self.rng.random() < 0.25:
                # the husband's widowed mother lives with them
                grandmother_birth = self.birth_date(father_birth.year - 32, father_birth.year - 22)
                members.append(
                    self.person(surname=self.surname(), sex="F", birth_date=grandmother_birth,
                                region=self._wife_region(region), relation="母")
                )
            return members
        # three generations: the old couple heads the household, the son's family lives with them
        grandfather_birth = self.birth_date(1938, 1960)
        grandfather = self.person(surname=surname, sex="M", birth_date=grandfather_birth, region=region,
                                  relation="户主")
        grandmother_birth = self.birth_date(grandfather_birth.year, grandfather_birth.year + 3)
        grandmother = self.person(surname=self.surname(), sex="F", birth_date=grandmother_birth,
                                  region=self._wife_region(region), relation="配偶")
        son_birth = self.birth_date(grandmother_birth.year + 22, grandmother_birth.year + 30)
        son = self.person(surname=surname, sex="M", birth_date=son_birth, region=region, relation="子")
        daughter_in_law_birth = self.birth_date(son_birth.year - 1, son_birth.year + 3)
        daughter_in_law = self.person(surname=self.surname(), sex="F", birth_date=daughter_in_law_birth,
                                      region=self._wife_region(region), relation="儿媳")
        grandchildren = self._children(
            surname=surname, mother_year=daughter_in_law_birth.year, region=region,
            count=self.rng.choice((1, 2)), son="孙子", daughter="孙女",
        )
        return [grandfather, grandmother, son, daughter_in_law, *grandchildren]
