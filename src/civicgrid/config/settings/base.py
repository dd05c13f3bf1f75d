"""Settings shared by every environment. Secrets come only from the environment."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

PACKAGE_DIR = Path(__file__).resolve().parents[2]
env = environ.Env()

DATA_DIR = Path(env("CIVICGRID_DATA_DIR", default=str(Path.cwd() / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env("CIVICGRID_SECRET_KEY", default="insecure-dev-key-change-me")
DEBUG = env.bool("CIVICGRID_DEBUG", default=False)
ALLOWED_HOSTS = env.list("CIVICGRID_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "simple_history",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "civicgrid.core",
    "civicgrid.accounts",
    "civicgrid.territory",
    "civicgrid.people",
    "civicgrid.ingest",
    "civicgrid.cases",
    "civicgrid.indicators",
    "civicgrid.web",
    "civicgrid.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before the session middlewares: a sign-out they cause (idle timeout) is audited with the client address.
    "civicgrid.core.middleware.RequestContextMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "civicgrid.accounts.middleware.SessionTimeoutMiddleware",
    "civicgrid.accounts.first_login.ForcePasswordChangeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "civicgrid.core.middleware.NoStoreMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Reverse proxies in front of the app, each appending the address it saw to X-Forwarded-For (nginx in
# front of gunicorn: 1). 0 trusts no header: the client address is REMOTE_ADDR. See core.context.
CIVICGRID_TRUSTED_PROXIES = env.int("CIVICGRID_TRUSTED_PROXIES", default=0)
if CIVICGRID_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("CIVICGRID_TRUSTED_PROXIES must be 0 (no proxy) or the number of reverse proxies")

ROOT_URLCONF = "civicgrid.config.urls"
WSGI_APPLICATION = "civicgrid.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "civicgrid.web.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'civicgrid.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers continue while an import writes; IMMEDIATE avoids lock upgrades failing mid-transaction.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "civicgrid.accounts.validators.CharacterClassValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "login"

# Lockout: 5 failures within 15 minutes lock the user+IP pair for 30 minutes (security.md R3).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked.html"
AXES_SENSITIVE_PARAMETERS = ["password"]
AXES_VERBOSE = False
# Lockouts and their records key on the same client address as the audit trail (CIVICGRID_TRUSTED_PROXIES).
AXES_CLIENT_IP_CALLABLE = "civicgrid.core.context.request_client_ip"

# Sessions: absolute lifetime 8 h, idle timeout 30 min enforced by SessionTimeoutMiddleware (R4).
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_IDLE_TIMEOUT = 30 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default"],
    }
}

# Upload limits (R24): size of the uploaded file, decompressed size of an xlsx, and data rows.
CIVICGRID_UPLOAD_MAX_BYTES = env.int("CIVICGRID_UPLOAD_MAX_BYTES", default=200 * 1024 * 1024)
CIVICGRID_UPLOAD_MAX_UNCOMPRESSED_BYTES = env.int(
    "CIVICGRID_UPLOAD_MAX_UNCOMPRESSED_BYTES", default=2 * 1024 * 1024 * 1024
)
CIVICGRID_UPLOAD_MAX_ROWS = env.int("CIVICGRID_UPLOAD_MAX_ROWS", default=2_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Audit rows younger than this are never purged (Cybersecurity Law Art. 21: >= 6 months).
CIVICGRID_AUDIT_RETENTION_DAYS = 180
# Soft-deleted residents are purged by the daily job this many days after their deletion (R29).
CIVICGRID_PEOPLE_RETENTION_DAYS = env.int("CIVICGRID_PEOPLE_RETENTION_DAYS", default=180)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_pi": {"()": "civicgrid.core.logging.RedactPersonalInformationFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_pi"]},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
