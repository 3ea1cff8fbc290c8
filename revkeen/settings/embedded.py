"""Embedded mode: a laptop with nothing installed. SQLite, in-memory channel layer,
Celery tasks in-process, beat schedules run in a thread of the web process, console email."""
from .base import *  # noqa: F403
from .base import BASE_DIR, env

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
CELERY_BROKER_URL = "memory://"
EMBEDDED_BEAT = True
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
