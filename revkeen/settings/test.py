"""Test settings: PostgreSQL + Redis when available (scripts/run_tests.py decides and exports
DATABASE_URL/REDIS_URL), SQLite otherwise. Tasks run eagerly; email is kept in memory."""
import os

from .base import *  # noqa: F403
from .base import env

RUN_MODE = "test"
DEBUG = False
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = "memory://"
EMBEDDED_BEAT = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Rendered PDFs and uploads go to a throwaway directory, never into the checkout.
import tempfile  # noqa: E402

MEDIA_ROOT = tempfile.mkdtemp(prefix="revkeen-test-media-")
