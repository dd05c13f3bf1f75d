import datetime as dt

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from civicgrid.core import idnumber
from civicgrid.core.idnumber import InvalidIdNumber


@pytest.mark.parametrize(
    ("value", "birth", "sex"),
    [("11010519491231002X", dt.date(1949, 12, 31), "F"), ("370101190102039973", dt.date(1901, 2, 3), "M")],
)
def test_known_valid_numbers(value, birth, sex):
    parsed = idnumber.parse(value)
    assert (parsed.value, parsed.birth_date, parsed.sex, parsed.region_code) == (value, birth, sex, value[:6])


def test_lower_case_x_and_spaces_are_normalised():
    assert idnumber.parse(" 11010519491231002x ").value == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("11010119900307182X", "校验位"),
        ("110105194912310021", "校验位"),
        ("11010519491331002X", "出生日期"),
        ("99010519491231002X", "地址码"),
        ("1101051949123100", "18位"),
        ("", "为空"),
        ("11010520991231002X", "不合理"),
    ],
)
def test_invalid_numbers_say_why(value, reason):
    with pytest.raises(InvalidIdNumber, match=reason):
        idnumber.parse(value, today=dt.date(2026, 11, 29))


def test_reasons_in_english():
    """The catalog's English: a plain message and one with placeholders."""
    with translation.override("en"):
        with pytest.raises(InvalidIdNumber) as caught:
            idnumber.parse("")
        assert str(caught.value) == "The ID number is empty"
        with pytest.raises(InvalidIdNumber) as caught:
            idnumber.parse("110105194912310021")
        assert str(caught.value) == "Wrong check digit in the ID number; it should be X"
    with pytest.raises(InvalidIdNumber) as caught:
        idnumber.parse("110105194912310021")
    assert str(caught.value) == "身份证号校验位错误，应为X"


def test_numeric_cell_is_rejected_not_repaired():
    with pytest.raises(InvalidIdNumber, match="数字格式"):
        idnumber.parse(3.71502198005170016e17)
    with pytest.raises(InvalidIdNumber, match="数字格式"):
        idnumber.parse(371502198005170016)


def test_fifteen_digit_number_is_upgraded():
    # 15-digit 371502800517001 -> born 1980-05-17, sequence 001 (male)
    parsed = idnumber.parse("371502800517001")
    assert parsed.value.startswith("37150219800517001")
    assert len(parsed.value) == 18
    assert parsed.value[17] == idnumber.check_character(parsed.value[:17])
    assert parsed.sex == "M"


def test_mask_keeps_region_and_last_four():
    assert idnumber.mask("37150219800517001X") == "371502********001X"


@given(
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
def test_made_numbers_round_trip(birth, sequence):
    value = idnumber.make("371522", birth, sequence)
    parsed = idnumber.parse(value, today=dt.date(2026, 1, 1))
    assert parsed.birth_date == birth
    assert parsed.sex == ("M" if sequence % 2 else "F")


@given(st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_any_single_digit_change_is_detected(position, delta):
    value = "37150219800517001" + idnumber.check_character("37150219800517001")
    digits = list(value)
    digits[position] = str((int(digits[position]) + delta) % 10)
    changed = "".join(digits)
    with pytest.raises(InvalidIdNumber):
        idnumber.parse(changed, today=dt.date(2026, 1, 1))
