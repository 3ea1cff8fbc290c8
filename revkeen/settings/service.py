"""Service mode: PostgreSQL, Redis (broker, results, cache, rate limits, channels), Celery worker + beat."""
from .base import *  # noqa: F403
from .base import env

RUN_MODE = "service"
DATABASES = {"default": env.db("DATABASE_URL")}
# ASGI runs each request's sync code on its own thread, so per-thread persistent connections
# pile up; a psycopg connection pool per process bounds them instead (Django >= 5.1).
DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": env.int("DB_POOL_MIN", default=2),
    "max_size": env.int("DB_POOL_MAX", default=10),
    "timeout": env.int("DB_POOL_TIMEOUT", default=10),
}
REDIS_URL = env("REDIS_URL")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_ALWAYS_EAGER = False
EMBEDDED_BEAT = False
# The NMI simulator is a sandbox stand-in: off in service mode unless a sandbox deployment wants it
# in-process (or run it alone: `manage.py run_nmi_simulator --port 8101`, Procfile's `nmi`).
NMI_SIMULATOR_ENABLED = env.bool("NMI_SIMULATOR_ENABLED", default=False)
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
