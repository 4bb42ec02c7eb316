"""Guanxi settings, read from the environment.

Every value has a default that works on a laptop; `make run` fills in DATABASE_URL and
REDIS_URL. With DEBUG off the process refuses to start on the insecure default SECRET_KEY, and
the security settings default to what `manage.py check --deploy` asks for.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parents[2]
RUN_DIR = BASE_DIR / ".run"

env = environ.Env()
# A development checkout has a git-ignored .env written by `make install` (DEBUG=1), so
# `manage.py` works there without exports. Deployments have none and stay strict; the test
# settings skip it so tests do not depend on the checkout.
if not env.bool("GUANXI_IGNORE_DOTENV", default=False) and (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

INSECURE_SECRET_KEY = "django-insecure-guanxi-local-development-only"  # noqa: S105

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_SECRET_KEY)
if not DEBUG and (SECRET_KEY == INSECURE_SECRET_KEY or len(SECRET_KEY) < 40):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing or is the insecure development default, and DEBUG is off. "
        "Set SECRET_KEY to a random string of at least 40 characters "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))')."
    )

# --- Hosts and URLs ---------------------------------------------------------------------------
# Workspaces live at <slug>.<GUANXI_BASE_DOMAIN>; the bare base domain is the public site.
GUANXI_BASE_DOMAIN = env.str("GUANXI_BASE_DOMAIN", default="localhost").lower()
# How links in emails and cross-subdomain redirects are built: scheme and port suffix.
GUANXI_URL_SCHEME = env.str("GUANXI_URL_SCHEME", default="http" if DEBUG else "https")
GUANXI_URL_PORT = env.str("GUANXI_URL_PORT", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[GUANXI_BASE_DOMAIN, f".{GUANXI_BASE_DOMAIN}"])
# Every form posts to its own host; no cross-origin POST is trusted by default.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Behind N reverse proxies that append to X-Forwarded-For, the client address is the Nth
# entry from the right. 0: use the connection's address (REMOTE_ADDR).
GUANXI_TRUSTED_PROXIES = env.int("GUANXI_TRUSTED_PROXIES", default=0)
# Subdomains nobody may sign up for: they are ours, or confusing, or both.
GUANXI_RESERVED_SUBDOMAINS = frozenset(
    env.list(
        "GUANXI_RESERVED_SUBDOMAINS",
        default=[
            "www",
            "api",
            "admin",
            "public",
            "static",
            "media",
            "mail",
            "email",
            "smtp",
            "imap",
            "pop",
            "ftp",
            "app",
            "apps",
            "auth",
            "login",
            "signup",
            "register",
            "account",
            "accounts",
            "billing",
            "status",
            "help",
            "support",
            "docs",
            "blog",
            "cdn",
            "assets",
            "dashboard",
            "console",
            "demo",
            "test",
            "dev",
            "staging",
            "internal",
            "root",
            "system",
            "guanxi",
            "template",
            "tenant",
            "tenants",
            "health",
            "metrics",
            "webhook",
            "webhooks",
        ],
    )
)

# --- Applications -----------------------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "billing",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "core_crm.users",
    "core_crm.access",  # users (also in public, for operators) point at roles
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
]
# Each tenant schema holds its own users, sessions and sign-in state, and all CRM data.
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "core_crm.users",
    "core_crm.access",
    "django.contrib.sessions",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "core_crm.audit",
    "core_crm.workspace",
    "core_crm.customers",
    "core_crm.customfields",
    "core_crm.savedviews",
    "core_crm.imports",
    "core_crm.sales",
    "core_crm.quotes",
    "core_crm.activities",
    "core_crm.forecast",
    "core_crm.notifications",
    "core_crm.api",
]
INSTALLED_APPS = list(SHARED_APPS) + [a for a in TENANT_APPS if a not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
# New schemas are cloned from this migrated template (a tenant row of its own, so that
# migrate_schemas keeps it current); see tenants.provisioning.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_LIMIT_SET_CALLS = False
PUBLIC_SCHEMA_URLCONF = "guanxi.urls_public"
ROOT_URLCONF = "guanxi.urls_tenant"

MIDDLEWARE = [
    "guanxi.health.HealthCheckMiddleware",
    "tenants.middleware.TenantMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core_crm.users.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.TenantStatusMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "guanxi.context_processors.guanxi",
            ],
        },
    },
]

WSGI_APPLICATION = "guanxi.wsgi.application"
ASGI_APPLICATION = "guanxi.asgi.application"

# --- Database ---------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/guanxi")}
DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -------------------------------------------------------------------------
# Without REDIS_URL (a laptop with no Redis), `make run` uses a file cache and Celery's
# filesystem transport; both are shared between the web, worker and beat processes.
REDIS_URL = env.str("REDIS_URL", default="")
_cache_key = {
    "KEY_FUNCTION": "django_tenants.cache.make_key",
    "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
    "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="guanxi"),
}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
            **_cache_key,
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(RUN_DIR / "cache"),
            **_cache_key,
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(RUN_DIR / "celery" / "queue"),
        "data_folder_out": str(RUN_DIR / "celery" / "queue"),
        "processed_folder": str(RUN_DIR / "celery" / "processed"),
        "control_folder": str(RUN_DIR / "celery" / "control"),
        "store_processed": False,
    }
    CELERY_RESULT_BACKEND = env.str(
        "CELERY_RESULT_BACKEND", default=f"file://{RUN_DIR / 'celery' / 'results'}"
    )
CELERY_TASK_DEFAULT_QUEUE = env.str("GUANXI_CELERY_QUEUE", default="guanxi")
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_BEAT_SCHEDULER = "guanxi.beat:Scheduler"
CELERY_BEAT_SCHEDULE = {
    "purge-expired-signin-tokens": {
        "task": "tenants.tasks.purge_expired_signin_tokens",
        "schedule": 15 * 60,
        "tenant_schemas": ["public"],
    },
    # Entries without `tenant_schemas` run in every customer workspace (guanxi.beat.Scheduler).
    "activities-send-due-reminders": {
        "task": "core_crm.activities.tasks.send_due_reminders",
        "schedule": 60.0,
    },
    "quotes-expire": {
        "task": "core_crm.quotes.tasks.expire_quotes",
        "schedule": 60 * 60.0,
    },
}

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "account_login"

ACCOUNT_ADAPTER = "core_crm.users.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Guanxi] "
# Failed sign-ins are throttled per address and per account (allauth, in the tenant-aware cache).
ACCOUNT_RATE_LIMITS = {
    "login": env.str("GUANXI_LOGIN_RATE", default="30/m/ip"),
    "login_failed": env.str("GUANXI_LOGIN_FAILED_RATE", default="10/m/ip,5/5m/key"),
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Guanxi"

# Online signup: at most this many attempts per client address per hour.
GUANXI_SIGNUP_RATE_LIMIT = env.int("GUANXI_SIGNUP_RATE_LIMIT", default=5)
# Workspace finder: emails per client address and per email address per hour.
GUANXI_FINDER_RATE_LIMIT = env.int("GUANXI_FINDER_RATE_LIMIT", default=5)
GUANXI_TRIAL_DAYS = 14
# The sign-in token handed from the public site to a new workspace is good for this long.
GUANXI_HANDOFF_TOKEN_SECONDS = 120

SESSION_COOKIE_AGE = 14 * 24 * 3600
SESSION_COOKIE_HTTPONLY = True

# --- Email ------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Guanxi <no-reply@guanxi.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Stripe (used by billing) -----------------------------------------------------------------
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")

# --- I18N -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
FORMAT_MODULE_PATH = ["guanxi.formats"]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- REST API ---------------------------------------------------------------------------------
# Requests per token (or signed-in user) and period, e.g. "600/min".
GUANXI_API_RATE = env.str("GUANXI_API_RATE", default="600/min")
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core_crm.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["core_crm.api.throttling.TokenRateThrottle"],
    "EXCEPTION_HANDLER": "core_crm.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Guanxi API",
    "DESCRIPTION": "The REST API of a Guanxi workspace. Authenticate with a personal access "
    "token: `Authorization: Bearer gx_...`.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Several resources have a field called "kind" with different choices: name each set.
    "ENUM_NAME_OVERRIDES": {
        "ActivityKindEnum": "core_crm.activities.models.Kind",
        "NotificationKindEnum": "core_crm.notifications.models.Kind",
        "CustomerKindEnum": "core_crm.customers.models.Account.Kind",
        "QuoteStatusEnum": "core_crm.quotes.models.QuoteStatus",
        "PeriodKindEnum": "core_crm.forecast.models.PeriodKind",
    },
}

# --- Security (production defaults; `manage.py check --deploy` is clean with DEBUG off) -------
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("SECURE_PROXY_SSL", default=not DEBUG) else None
)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
