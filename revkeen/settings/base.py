"""Settings shared by every run mode. Mode files (embedded, service, test) overlay this one."""
import warnings
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# whitenoise warns when collectstatic has not run yet (tests, embedded mode); static is served by finders then.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")
env = environ.Env()

SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-insecure-change-me-0123456789abcdefghijklmnopqrstuvwxyz")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=["http://127.0.0.1:8000", "http://localhost:8000"])
RUN_MODE = "base"

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "django_celery_beat",
    "channels",
    "allauth",
    "allauth.account",
    "apps.core",
    "apps.accounts",
    "apps.customers",
    "apps.catalog",
    "apps.billing",
    "apps.checkout",
    "apps.payments",
    "apps.payments.simulators.nmi",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "apps.accounts.middleware.MerchantContextMiddleware",
]

ROOT_URLCONF = "revkeen.urls"
WSGI_APPLICATION = "revkeen.wsgi.application"
ASGI_APPLICATION = "revkeen.asgi.application"

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
                "apps.accounts.context_processors.merchant_context",
            ],
        },
    }
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "media"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "account_login"

# --- allauth: email is the identity; a one-time code by email logs in without a password (page 007).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None  # accounts.User has no username; without this, sign-up crashes
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 600
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_SIGNUP_REDIRECT_URL = "onboarding"
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[RevKeen] "
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="RevKeen <no-reply@revkeen.local>")

# --- REST API (/v2): conventions live in apps.core.api.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.core.api.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.core.api.auth.HasApiKey"],
    "DEFAULT_THROTTLE_CLASSES": ["apps.core.api.ratelimit.ApiKeyRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "apps.core.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.RevKeenAutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "RevKeen API",
    "DESCRIPTION": "REST API for the RevKeen billing and payments platform. Authenticate with `x-api-key`.",
    "VERSION": "2026-05-01",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/v2",
    "COMPONENT_SPLIT_REQUEST": True,
    "OAS_VERSION": "3.1.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            "BearerAuth": {"type": "http", "scheme": "bearer"},
        }
    },
    "SECURITY": [{"ApiKeyAuth": []}, {"BearerAuth": []}],
}
REVKEEN_API_VERSION = "2026-05-01"
REVKEEN_SUPPORTED_API_VERSIONS = ["2025-09-01", "2026-01-01", "2026-05-01"]
# Requests per minute and burst per API key, by mode (DECISIONS.md).
REVKEEN_RATE_LIMITS = {
    "sandbox": (env.int("RATE_LIMIT_SANDBOX_PER_MIN", default=100), env.int("RATE_LIMIT_SANDBOX_BURST", default=200)),
    "live": (env.int("RATE_LIMIT_LIVE_PER_MIN", default=1000), env.int("RATE_LIMIT_LIVE_BURST", default=2000)),
}
IDEMPOTENCY_TTL_HOURS = 24

# --- Celery: every task is a thin wrapper over an idempotent service.
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Service mode: `celery beat` (Procfile). Embedded mode: the same entries, run in-process by
# runserver_embedded (apps.core.embedded_beat). The DatabaseScheduler copies them into its tables.
CELERY_BEAT_SCHEDULE = {
    # The outbox sweep: re-dispatches committed events a crash or a broker outage left behind.
    "events-dispatch-pending": {"task": "apps.core.tasks.dispatch_pending_events", "schedule": 60.0},
    "idempotency-keys-expire": {"task": "apps.core.tasks.expire_idempotency_keys", "schedule": 3600.0},
    "invitations-expire": {"task": "apps.accounts.tasks.expire_invitations", "schedule": 3600.0},
    "entitlements-expire": {"task": "apps.catalog.tasks.expire_entitlements", "schedule": 300.0},
    # The simulator's daily batch close (it also closes lazily on each request; this sends its webhooks on time).
    "nmi-sim-batch-close": {"task": "apps.payments.simulators.nmi.tasks.close_due_batches", "schedule": 60.0},
    # Payments whose gateway answer was lost (pending, older than 30 s): resolved by find_attempt.
    "payments-reconcile-unknown": {"task": "apps.payments.tasks.reconcile_unknown_payments", "schedule": 60.0},
    # Settlement batches the gateway closed → our ledger rows stamped with their payout date (every 5 min).
    "payments-settlements-sync": {"task": "apps.payments.tasks.sync_settlements", "schedule": 300.0},
    # Payouts due on each merchant's schedule (idempotent, catches up missed days), then their lifecycle.
    "payouts-create-due": {"task": "apps.payments.tasks.create_due_payouts", "schedule": 900.0},
    "payouts-advance": {"task": "apps.payments.tasks.advance_payouts", "schedule": 900.0},
    # Chargebacks reported by the gateway (opened, won, lost) → disputes, every 5 minutes; then the
    # evidence deadline sweep (a missed deadline is an automatic loss).
    "disputes-sync": {"task": "apps.payments.tasks.sync_disputes", "schedule": 300.0},
    "disputes-expire-overdue": {"task": "apps.payments.tasks.expire_overdue_disputes", "schedule": 900.0},
    # Invoices past their due date → overdue (hourly; idempotent), then the day's payment reminders
    # (each sent once: InvoiceReminder's unique key; a second run the same day sends nothing).
    "invoices-mark-overdue": {"task": "apps.billing.tasks.mark_overdue_invoices", "schedule": 3600.0},
    "invoices-send-reminders": {"task": "apps.billing.tasks.send_invoice_reminders", "schedule": 21600.0},
    # Checkout sessions past their expiry → expired (`checkout.session.expired`; their unpaid invoice voided).
    "checkout-expire-sessions": {"task": "apps.checkout.tasks.expire_checkout_sessions", "schedule": 300.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The NMI simulator (apps.payments, a later issue) answers here in embedded mode; sandbox gateways point at it.
NMI_SIMULATOR_URL = env("NMI_SIMULATOR_URL", default="http://127.0.0.1:8000/_sim/nmi")
# --- NMI simulator (apps.payments.simulators.nmi): mounted at /_sim/nmi/ when enabled (embedded and test
# runs); `manage.py run_nmi_simulator --port 8101` serves it alone. Service mode should turn it off unless a
# sandbox deployment wants it in-process.
NMI_SIMULATOR_ENABLED = env.bool("NMI_SIMULATOR_ENABLED", default=True)
NMI_SIM_BATCH_CUTOFF = env("NMI_SIM_BATCH_CUTOFF", default="20:00")  # daily batch close, HH:MM local time
NMI_SIM_BATCH_TIMEZONE = env("NMI_SIM_BATCH_TIMEZONE", default="America/New_York")
NMI_SIM_DUP_SECONDS = env.int("NMI_SIM_DUP_SECONDS", default=1200)  # duplicate window without dup_seconds
NMI_SIM_TOKEN_TTL_SECONDS = env.int("NMI_SIM_TOKEN_TTL_SECONDS", default=86400)  # Collect.js token lifetime
NMI_SIM_3DS_TTL_SECONDS = env.int("NMI_SIM_3DS_TTL_SECONDS", default=900)  # unanswered challenge → abandoned
NMI_SIM_FAULT_HANG_SECONDS = env.int("NMI_SIM_FAULT_HANG_SECONDS", default=35)  # > the adapter's read timeout
NMI_SIM_PUBLIC_URL = env("NMI_SIM_PUBLIC_URL", default="")  # browser-facing …/_sim/nmi; empty = request host
NMI_SIM_CONTROL_TOKEN = env("NMI_SIM_CONTROL_TOKEN", default="")  # set: /_control/ needs X-Sim-Control-Token
# Disputes: days from the issuer opening a chargeback to our evidence deadline (page 022: "typically 7-21
# days"; the short end, so merchants never miss the bank's), and how far back each chargeback poll looks.
DISPUTE_EVIDENCE_DAYS = env.int("DISPUTE_EVIDENCE_DAYS", default=7)
DISPUTES_SYNC_LOOKBACK_DAYS = env.int("DISPUTES_SYNC_LOOKBACK_DAYS", default=7)
AUTH_USER_MODEL = "accounts.User"

# Where customers reach hosted pages (invoice links in emails are built without a request).
PUBLIC_BASE_URL = env("REVKEEN_PUBLIC_URL", default="http://127.0.0.1:8000")
