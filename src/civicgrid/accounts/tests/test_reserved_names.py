"""R8: default and shared account names (admin, root, …) are refused and flagged."""

import pytest
from django.core import checks
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from civicgrid.accounts.checks import check_reserved_usernames
from civicgrid.accounts.models import User
from civicgrid.accounts.validators import RESERVED_USERNAMES, validate_not_reserved_username


@pytest.mark.parametrize("name", ["admin", "Admin", "ROOT", " root ", "administrator", "sa", "guest", "test"])
def test_validator_refuses_reserved_names(name):
    with pytest.raises(ValidationError) as excinfo:
        validate_not_reserved_username(name)
    assert "系统保留名" in excinfo.value.messages[0]


@pytest.mark.parametrize("name", ["admin2", "wang_admin", "rooter", "zhangwei"])
def test_validator_accepts_named_accounts(name):
    validate_not_reserved_username(name)


def test_model_validation_refuses_reserved_name():
    user = User(username="root", role="county_admin")
    user.set_password("Civic-grid-2026")
    with pytest.raises(ValidationError) as excinfo:
        user.full_clean()
    assert list(excinfo.value.message_dict) == ["username"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["admin", "root"])
def test_createsuperuser_refuses_reserved_names(monkeypatch, name):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Civic-grid-2026")
    with pytest.raises(CommandError, match="系统保留名"):
        call_command("createsuperuser", "--noinput", username=name, email="ops@example.cn", verbosity=0)
    assert not User.objects.filter(username__iexact=name).exists()


@pytest.mark.django_db
def test_createsuperuser_with_a_named_account_works(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Civic-grid-2026")
    call_command("createsuperuser", "--noinput", username="ops_liming", email="ops@example.cn", verbosity=0)
    assert User.objects.get(username="ops_liming").is_superuser


@pytest.mark.django_db
def test_system_check_flags_active_reserved_accounts():
    # Rows written without validation (bulk/raw paths) are what the check is for.
    User.objects.create(username="Admin", is_active=True)
    User.objects.create(username="root", is_active=False)
    User.objects.create(username="liming", is_active=True)
    errors = check_reserved_usernames(databases=["default"])
    assert [(e.id, e.msg) for e in errors] == [
        ("accounts.E001", "Active account with a reserved name: 'Admin' (database 'default')")
    ]
    # Registered with Django's check framework under the security and database tags.
    registered = checks.run_checks(tags=[checks.Tags.security], databases=["default"])
    assert [e.id for e in registered if e.id == "accounts.E001"] == ["accounts.E001"]


@pytest.mark.django_db
def test_system_check_is_clean_without_reserved_accounts():
    User.objects.create(username="liming", is_active=True)
    assert check_reserved_usernames(databases=["default"]) == []
    # Without a database (plain `manage.py check`) it stays silent rather than failing.
    assert check_reserved_usernames(databases=None) == []


@pytest.mark.django_db
def test_check_database_command_fails_on_a_reserved_account():
    User.objects.create(username="root", is_active=True)
    with pytest.raises(CommandError, match="accounts.E001"):
        call_command("check", "--database", "default", verbosity=0)


def test_reserved_names_cover_the_usual_defaults():
    assert {"admin", "root", "administrator", "sa", "system", "superuser", "test", "guest"} <= RESERVED_USERNAMES
