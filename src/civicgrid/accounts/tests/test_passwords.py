"""R1: password rules (等保 8.1.4.1a) through the configured AUTH_PASSWORD_VALIDATORS."""

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import password_validators_help_texts, validate_password
from django.core.exceptions import ValidationError

from civicgrid.accounts.models import User
from civicgrid.accounts.validators import CharacterClassValidator

USER = User(username="zhangwei", display_name="张伟", email="zhangwei@example.cn")


def _error_codes(password: str, user: User | None = USER) -> set[str]:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        return {error.code for error in exc.error_list}
    return set()


@pytest.mark.parametrize(
    "password",
    [
        "Civic-grid-2026",  # all four classes
        "Qinghe2026road",  # upper, lower, digit
        "grid#road#2026",  # lower, symbol, digit
        "GRID-road-NORTH",  # upper, lower, symbol
    ],
)
def test_good_passwords_pass(password):
    assert _error_codes(password) == set()


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("Ab1!xyz", {"password_too_short"}),  # 7 characters, four classes
        ("griddata2026", {"password_too_simple"}),  # lower + digit only
        ("GRIDDATA2026", {"password_too_simple"}),  # upper + digit only
        ("GRID#ROAD#NORTH", {"password_too_simple"}),  # upper + symbol only
        ("gridroadnorth", {"password_too_simple"}),  # one class
        ("20261129", {"password_too_simple", "password_entirely_numeric"}),
        ("12345678", {"password_too_simple", "password_entirely_numeric", "password_too_common"}),
        ("Password1", {"password_too_common"}),  # three classes, but on the common list
        ("P@ssw0rd", {"password_too_common"}),
        ("Zhangwei2026", {"password_too_similar"}),  # three classes, but the user name inside
        ("Zhangwei@example.cn", {"password_too_similar"}),  # the e-mail address, three classes
    ],
)
def test_bad_passwords_are_refused_for_the_right_reasons(password, codes):
    assert _error_codes(password) == codes


def test_similarity_is_judged_against_the_account_not_in_general():
    # The same password is fine for another account: the refusal above is about *this* user's name.
    assert _error_codes("Zhangwei2026", User(username="lina", display_name="李娜")) == set()


def test_character_class_validator_is_configured_and_counts_classes():
    names = [entry["NAME"] for entry in settings.AUTH_PASSWORD_VALIDATORS]
    assert names == [
        "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "django.contrib.auth.password_validation.MinimumLengthValidator",
        "django.contrib.auth.password_validation.CommonPasswordValidator",
        "django.contrib.auth.password_validation.NumericPasswordValidator",
        "civicgrid.accounts.validators.CharacterClassValidator",
    ]
    assert settings.AUTH_PASSWORD_VALIDATORS[1]["OPTIONS"] == {"min_length": 8}
    validator = CharacterClassValidator()
    validator.validate("aB3")  # three classes: length is another validator's job
    with pytest.raises(ValidationError) as excinfo:
        validator.validate("ab3")
    assert excinfo.value.code == "password_too_simple"
    assert "至少三类" in " ".join(password_validators_help_texts())
