"""R21: `check --deploy` is clean under the production settings (run as CI would, in a subprocess)."""

import json
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest

PRODUCTION = "civicgrid.config.settings.production"


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": PRODUCTION,
        "CIVICGRID_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(50)),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "CIVICGRID_DATA_DIR": str(tmp_path / "var"),
        **extra,
    }


def _run(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, *args], cwd=tmp_path, env=_environment(tmp_path, **extra),
        capture_output=True, text=True, timeout=120, check=False,
    )


def test_check_deploy_is_clean(tmp_path):
    result = _run(tmp_path, "-m", "django", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_production_values(tmp_path):
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "'DEBUG': s.DEBUG, 'SSL': s.SECURE_SSL_REDIRECT, 'HSTS': s.SECURE_HSTS_SECONDS, "
        "'SESSION_SECURE': s.SESSION_COOKIE_SECURE, 'CSRF_SECURE': s.CSRF_COOKIE_SECURE, "
        "'SESSION_HTTPONLY': s.SESSION_COOKIE_HTTPONLY, 'XFO': s.X_FRAME_OPTIONS, "
        "'NOSNIFF': s.SECURE_CONTENT_TYPE_NOSNIFF, 'SESSION_AGE': s.SESSION_COOKIE_AGE, "
        "'ADMIN': 'django.contrib.admin' in s.INSTALLED_APPS}))"
    )
    result = _run(tmp_path, "-c", script)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "DEBUG": False, "SSL": True, "HSTS": 31536000, "SESSION_SECURE": True, "CSRF_SECURE": True,
        "SESSION_HTTPONLY": True, "XFO": "DENY", "NOSNIFF": True, "SESSION_AGE": 28800, "ADMIN": False,
    }


@pytest.mark.parametrize("missing", ["CIVICGRID_SECRET_KEY", "DATABASE_URL"])
def test_production_refuses_to_start_without_secrets_from_the_environment(tmp_path, missing):
    env = _environment(tmp_path)
    del env[missing]
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "django", "check"], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 1
    assert f"Set the {missing} environment variable" in result.stderr


def test_debug_cannot_be_switched_on_by_the_environment(tmp_path):
    result = _run(tmp_path, "-c", "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)", CIVICGRID_DEBUG="true")
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(("value", "expected"), [(None, "0"), ("1", "1"), ("2", "2")])
def test_trusted_proxies_come_from_the_environment(tmp_path, value, expected):
    script = "import django; django.setup(); from django.conf import settings; print(settings.CIVICGRID_TRUSTED_PROXIES)"
    extra = {} if value is None else {"CIVICGRID_TRUSTED_PROXIES": value}
    result = _run(tmp_path, "-c", script, **extra)
    assert (result.returncode, result.stdout.strip()) == (0, expected), result.stderr


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", "CIVICGRID_TRUSTED_PROXIES must be 0 (no proxy) or the number of reverse proxies"),
        ("one", "invalid literal for int() with base 10: 'one'"),
        ("1.5", "invalid literal for int() with base 10: '1.5'"),
    ],
)
def test_a_wrong_trusted_proxies_value_refuses_to_start(tmp_path, value, message):
    # Guessing would either trust a header the client wrote or record the proxy's address.
    result = _run(tmp_path, "-m", "django", "check", CIVICGRID_TRUSTED_PROXIES=value)
    assert result.returncode == 1
    assert message in result.stderr
