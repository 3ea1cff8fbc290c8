"""Embedded mode: a laptop with nothing installed. SQLite, in-memory channel layer,
Celery tasks in-process, beat schedules run in a thread of the web process, console email."""
from .base import *  # noqa: F403
from .base import BASE_DIR, LOGGING, env

RUN_MODE = "embedded"
DEBUG = env.bool("DJANGO_DEBUG", default=True)
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")),
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://localhost/"  # never used to deliver (eager); a host keeps kombu quiet
EMBEDDED_BEAT = True  # runserver_embedded runs CELERY_BEAT_SCHEDULE in a thread (apps.core.embedded_beat)
CELERY_BEAT_SYNC_EVERY = 1  # save each entry's last run at once: the process may stop at any time
CELERY_BEAT_MAX_LOOP_INTERVAL = 1  # beat sleeps at most 1 s, so Ctrl-C stops it at once (one tiny query a tick)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# The server console: every eager task would log "Task ... succeeded" (beat's own lines stay), and
# with DEBUG on Django's default "django" console handler would print each request a second time.
LOGGING = {**LOGGING, "loggers": {**LOGGING["loggers"], "celery.app.trace": {"level": "WARNING"},
                                  "django": {"handlers": [], "level": "INFO", "propagate": True}}}
