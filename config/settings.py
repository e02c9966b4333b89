"""Django settings for gridcare.

Everything a deployment changes comes from the environment (see README,
"Configuration"); `make demo` and `make test` write DATABASE_URL and
REDIS_URL into var/env.sh when they start private services.
"""

import base64
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("GRIDCARE_DEBUG", False)
SECRET_KEY = env_str("GRIDCARE_SECRET_KEY", "")
if not SECRET_KEY:
    # Development, demo and tests get a per-checkout key; deployments set one.
    _key_file = BASE_DIR / "var" / "secret_key"
    if not _key_file.exists():
        _key_file.parent.mkdir(parents=True, exist_ok=True)
        _key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _key_file.read_text().strip()

# Keys of the encrypted ID and telephone numbers and of their search index (gridmap.crypto):
# "id:base64-of-32-bytes" pairs, comma-separated, the first one current. Development, the
# demo and the tests get per-checkout keys; deployments set both (docs/operations.md).
def _field_keys(name: str, file: str) -> list[tuple[str, bytes]]:
    raw = env_str(name, "")
    if not raw:
        path = BASE_DIR / "var" / file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:  # created once, readable by this account only; a concurrent start keeps the first
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as out:
                    out.write("k1:" + base64.b64encode(secrets.token_bytes(32)).decode())
        raw = path.read_text().strip()
    try:
        return [(kid.strip(), base64.b64decode(key)) for kid, key in
                (pair.split(":", 1) for pair in raw.split(",") if pair.strip())]
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be id:base64key[,id:base64key…]") from exc


GRIDCARE_FIELD_KEYS = _field_keys("GRIDCARE_FIELD_KEYS", "field_keys")
GRIDCARE_INDEX_KEYS = _field_keys("GRIDCARE_INDEX_KEYS", "index_keys")
GRIDCARE_KEYS_FROM_ENVIRONMENT = bool(env_str("GRIDCARE_FIELD_KEYS", "")
                                      and env_str("GRIDCARE_INDEX_KEYS", ""))

ALLOWED_HOSTS = env_list("GRIDCARE_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("GRIDCARE_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_gis",
    "drf_spectacular",
    "leaflet",
    "django_rq",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "gridmap",
    "cases",  # the register's migration history (0001–0006), no models
    "cases.patients",
    "cases.transfers",
    "cases.screening",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "gridmap.security.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "gridmap.security.ScopeCacheMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "gridmap.security.IdleTimeoutMiddleware",
    "gridmap.security.SecondFactorMiddleware",
    "gridmap.security.RefusalLogMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "gridmap" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.navigation",
            ],
        },
    },
]

# --- Database and Redis ------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", "")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "Set DATABASE_URL (postgres://user@host:port/db) or run through `make`, "
        "which starts a private PostGIS and writes var/env.sh."
    )
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
# Parameters bound by the server, not quoted into the text in Python, and the statements a
# connection runs repeatedly prepared by psycopg after GRIDCARE_DB_PREPARE_THRESHOLD runs
# (Django turns preparing off unless told): the planner then does not plan a list page's
# scope predicate and its team afresh on every request (bench/load). 0 turns it off, for a
# pooler that cannot keep prepared statements (PgBouncer before 1.21, or without
# max_prepared_statements; docs/operations.md).
DATABASES["default"]["OPTIONS"] = {
    "server_side_binding": env_bool("GRIDCARE_DB_SERVER_BINDING", True),
    "prepare_threshold": env_int("GRIDCARE_DB_PREPARE_THRESHOLD", 5) or None,
}
# Lets two test runs share one server (e.g. CI and a developer) without clashing.
DATABASES["default"]["TEST"] = {"NAME": env_str("GRIDCARE_TEST_DATABASE", "") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Jobs are enqueued by our services inside transaction.on_commit (STYLE §9),
# so django-rq must enqueue at once when called.
RQ = {"COMMIT_MODE": "auto"}
# django-rq would also put its dashboard in the administration, open to every staff member
# (job arguments, delete and requeue buttons): it lives at /django-rq/ for superusers only.
RQ_SHOW_ADMIN_LINK = False
# Nobody, administrators included, reads another person's authenticator secret (its key
# or QR code) in the administration: a new device is enrolled by its owner.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600},
}
# The cache is Redis, shared by every web process and the worker: an import run by the
# worker replaces the unit tiles' version that the web processes read (gridmap.tiles).
CACHES = {
    "default": {
        "BACKEND": "config.cache.KeptClientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("GRIDCARE_CACHE_PREFIX", "gridcare"),
    },
}

# --- Accounts (docs/security.md) -----------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes: after GRIDCARE_LOGIN_FAILURES wrong passwords for a username (from anywhere,
# against guessing one account) or from an address (against trying one password on many
# accounts), sign-in is locked for GRIDCARE_LOCKOUT_MINUTES; a right password resets the
# count. An office behind one NAT address shares the address count: `manage.py
# axes_reset_ip` unlocks it at once (docs/operations.md).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend",
                           "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("GRIDCARE_LOGIN_FAILURES", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("GRIDCARE_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "gridmap.accounts.locked_out"
AXES_VERBOSE = False
# Sessions end with the browser, after GRIDCARE_IDLE_MINUTES without a request, and after
# GRIDCARE_SESSION_HOURS in all (gridmap.security.IdleTimeoutMiddleware).
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# Read from Redis, written through to the database; with Redis down, from the database.
SESSION_ENGINE = "config.sessions"
SESSION_COOKIE_AGE = env_int("GRIDCARE_SESSION_HOURS", 10) * 3600
GRIDCARE_IDLE_MINUTES = env_int("GRIDCARE_IDLE_MINUTES", 30)
# A TOTP second factor (django-otp) for administrators and for these roles.
GRIDCARE_SECOND_FACTOR_ROLES = env_list("GRIDCARE_SECOND_FACTOR_ROLES", ["county_office"])
OTP_TOTP_ISSUER = env_str("GRIDCARE_OTP_ISSUER", "gridcare")

# --- Audit (docs/security.md) -------------------------------------------------------------
# A break-glass opens one patient outside the person's units for this long.
GRIDCARE_BREAK_GLASS_HOURS = env_float("GRIDCARE_BREAK_GLASS_HOURS", 3.0)
# The access log's chain head is appended here daily (and to the application log): keep
# this file on other storage than the database (another disk, a log server), so that
# rewriting the log and its chain in the database shows (`manage.py audit_verify`).
GRIDCARE_AUDIT_HEADS = Path(env_str("GRIDCARE_AUDIT_HEADS", str(BASE_DIR / "var" / "audit" / "heads.log")))

# --- i18n, time ---------------------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "gridmap:map"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"  # the one local zone: every rule date and time shown; stored in UTC
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files -------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# The front-end packages from npm, only the built files pages load (config.vendor).
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "config.vendor.VendorFinder",
]
MEDIA_ROOT = Path(env_str("GRIDCARE_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve from the apps without collectstatic in dev
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Security (docs/security.md) ------------------------------------------------------
# A deployment served over HTTPS sets GRIDCARE_HTTPS=true: the SSL redirect, a year of
# HSTS and secure cookies follow, each overridable. Behind a proxy that terminates TLS,
# GRIDCARE_BEHIND_PROXY=true trusts its X-Forwarded-Proto header.
GRIDCARE_HTTPS = env_bool("GRIDCARE_HTTPS", False)
SECURE_SSL_REDIRECT = env_bool("GRIDCARE_SSL_REDIRECT", GRIDCARE_HTTPS)
SECURE_HSTS_SECONDS = env_int("GRIDCARE_HSTS_SECONDS", 365 * 24 * 3600 if GRIDCARE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("GRIDCARE_HSTS_SUBDOMAINS", True)
# The preload directive does nothing until the domain is submitted to browsers' lists.
SECURE_HSTS_PRELOAD = env_bool("GRIDCARE_HSTS_PRELOAD", GRIDCARE_HTTPS)
if env_bool("GRIDCARE_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("GRIDCARE_SECURE_COOKIES", GRIDCARE_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content Security Policy (django-csp): scripts and styles from this server only, inline
# scripts only with the page's nonce (the map widgets of django-leaflet); no frames, no
# plugins, forms post here only. Map tiles come from the configured base layer.
_TILE_HOSTS = {"none": [], "osm": ["https://tile.openstreetmap.org"],
               "tianditu": ["https://*.tianditu.gov.cn"]}
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *_TILE_HOSTS.get(env_str("GRIDCARE_BASEMAP", "none"), [])],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Debian 12 ships GDAL 3.6, older than Django 5.2 asks for; GeoDjango only
# uses GDAL here for geometry I/O of trusted data (files are read by pyogrio,
# which bundles a current GDAL), so the check is silenced.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# --- Spatial ---------------------------------------------------------------------------
# STYLE §5: one SRID stored (WGS84), named once; models, SQL and staging read it here.
GRIDCARE_SRID = 4326

# Base layer of the map pages: none by default so the map works on an
# offline intranet. "tianditu" needs GRIDCARE_TIANDITU_KEY; "osm" needs internet.
GRIDCARE_BASEMAP = env_str("GRIDCARE_BASEMAP", "none")
GRIDCARE_TIANDITU_KEY = env_str("GRIDCARE_TIANDITU_KEY", "")
if GRIDCARE_BASEMAP not in {"none", "osm", "tianditu"}:
    raise ImproperlyConfigured("GRIDCARE_BASEMAP must be none, osm or tianditu.")
if GRIDCARE_BASEMAP == "tianditu" and not GRIDCARE_TIANDITU_KEY:
    raise ImproperlyConfigured("GRIDCARE_BASEMAP=tianditu needs GRIDCARE_TIANDITU_KEY.")

# How long a unit vector tile stays in the cache (Redis). A unit or household import
# replaces the tiles' version, so a kept tile is never stale: this only bounds the memory
# of tiles nobody asks for again (a province at z6–z15 is ~100k tiles of ~1–12 KB).
GRIDCARE_TILE_CACHE_SECONDS = env_int("GRIDCARE_TILE_CACHE_SECONDS", 7 * 24 * 3600)
# How long the key-group counts of one list view stay in the cache. Any change to the
# register gives a new version (cases.patients.selectors.register_version), so a kept count
# is never stale: this only bounds the memory of views nobody opens again (~100 bytes each).
GRIDCARE_COUNT_CACHE_SECONDS = env_int("GRIDCARE_COUNT_CACHE_SECONDS", 24 * 3600)

LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (33.33, 106.15),
    "DEFAULT_ZOOM": 9,
    "MIN_ZOOM": 3,
    "MAX_ZOOM": 18,
    "TILES": [],  # base layers are added by static/js/map.js from GRIDCARE_BASEMAP
    "ATTRIBUTION_PREFIX": "gridcare",
    "RESET_VIEW": False,
    "NO_GLOBALS": False,
}

# Import validation thresholds (issue #2; formats.md §1). Ratios are shares.
GRIDCARE_IMPORT = {
    "china_extent": (73.0, 3.0, 136.0, 54.0),  # lon/lat box; outside = error
    "child_outside_parent_max": env_float("GRIDCARE_CHILD_OUTSIDE_MAX", 0.01),
    "sibling_overlap_max": env_float("GRIDCARE_SIBLING_OVERLAP_MAX", 0.01),
    "parent_gap_warn": env_float("GRIDCARE_PARENT_GAP_WARN", 0.01),
    "grid_households": (300, 500),  # usual range; outside = warning
    "micro_grid_households": (30, 100),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Bounded bodies: more than 1 MB of JSON or deeper than 32 levels is a 400.
    "DEFAULT_PARSER_CLASSES": ["gridmap.parsers.BoundedJSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    # drf-spectacular's, with the error answers (400, 403, 404) declared once for all views.
    "DEFAULT_SCHEMA_CLASS": "gridmap.schema.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "gridcare API",
    "DESCRIPTION": "Grid units, patients (scoped to the caller, every read logged) and follow-ups.",
    "VERSION": "1",
    # The schema names every endpoint and field: for signed-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # It describes the API, not drf-spectacular's own view that serves it.
    "SERVE_INCLUDE_SCHEMA": False,
    "ENUM_NAME_OVERRIDES": {"GeoJSONFeatureEnum": ["Feature"],
                            "GeoJSONFeatureCollectionEnum": ["FeatureCollection"]},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("GRIDCARE_LOG_LEVEL", "INFO")},
    # Lockouts are worth a line; every successful sign-in is not.
    "loggers": {"axes": {"level": "WARNING"}},
}
AUTH_USER_MODEL = "gridmap.User"

# The configurable numbers of the domain rules (domain-rules.md R6–R16),
# passed to cases.patients.rules.Schedule; defaults are the rules' own values.
GRIDCARE_RULES = {
    "stable_months": 3,  # R6: 稳定 → within 3 months
    "basic_days": 14,  # R6: 基本稳定 → within 14 days
    "unstable_days": 14,  # R6: 不稳定 not admitted → within 14 days
    "retry_days": 14,  # R9
    "lost_after_months": 1,  # R10
    "yearly_minimum": 4,  # R7
    "floating_months": 6,  # R16
    "elderly_guardian_age": 65,  # R15
}

# The deadlines of R24, R27, R28 and R33 (gridmap.calendar.Deadlines); defaults are the
# rules' own values: report 24 h, exchange 24 h, accept 5 working days, likely to leave
# 24 h, other events 6 h, diagnosis 10 working days.
GRIDCARE_DEADLINES = {
    "report_hours": 24,
    "exchange_hours": 24,
    "accept_working_days": 5,
    "likely_to_leave_hours": 24,
    "event_hours": 6,
    "diagnosis_working_days": 10,
}

# Which function imports each kind of file (the upload page, its RQ job and the import
# commands): config.importers composes each app's importer with what the apps above it
# add (moves for a patient ledger, coverage for households).
GRIDCARE_IMPORTERS = env_str("GRIDCARE_IMPORTERS", "config.importers.IMPORTERS")
# Uploaded files are deleted once their run has read them; a crashed run's file is kept
# (mode 0600) this many days so that it can be run again (probe finding 10).
GRIDCARE_UPLOAD_KEEP_DAYS = env_float("GRIDCARE_UPLOAD_KEEP_DAYS", 7.0)

# Screening (domain-rules R31, R32; configurable).
GRIDCARE_SCREENING = {
    "on_site_metres": env_float("GRIDCARE_ON_SITE_METRES", 200.0),  # R32
    # R31 colours, highest threshold first: ≥ 90 % green, 75–90 % orange, 20–75 % red, < 20 % yellow.
    "colours": [(0.9, "green"), (0.75, "orange"), (0.2, "red"), (0.0, "yellow")],
    "min_cell_count": 5,  # aggregates below this are shown as "<5" to leaders
}
