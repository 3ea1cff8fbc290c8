"""Scheduled jobs in embedded mode: Celery beat's own `Service` in a daemon thread of the web process.

Embedded mode (`make run`) has no broker and no worker. Tasks run eagerly (CELERY_TASK_ALWAYS_EAGER),
so when beat calls `task.apply_async()` for a due entry the task body runs right there, in the beat
thread, against the same database. The schedule is django-celery-beat's DatabaseScheduler: it copies
CELERY_BEAT_SCHEDULE into its tables on start, so the entries are also visible (and editable) in
Django admin, exactly as in service mode.

Two traps this module avoids (STACK.md, "Embedded mode"):
- beat only applies a task in-process if the task is *registered*; for an unknown name it falls back
  to `send_task`, which publishes to the in-memory broker where nothing consumes it, and the job
  silently never runs. So task modules are imported first (`import_default_modules`) and every
  CELERY_BEAT_SCHEDULE entry is checked to be registered before beat starts;
- starting it inside `AppConfig.ready()` raises "populate() isn't reentrant": the runner starts it
  once Django is set up (runserver_embedded's inner_run, i.e. in the serving process, never in the
  autoreloader's parent).

One web process, one beat: this is for a laptop. Service mode runs `celery beat` (Procfile) instead.
"""
from __future__ import annotations

import logging
import threading

from django.core.exceptions import ImproperlyConfigured
from django.db import connections

log = logging.getLogger(__name__)

SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"


def _default_app():
    from revkeen.celery import app

    return app


def prepare(app) -> list[str]:
    """Imports task modules and checks every scheduled task will run in-process; returns the entry names."""
    if not app.conf.task_always_eager:
        raise ImproperlyConfigured(
            "The embedded beat needs CELERY_TASK_ALWAYS_EAGER: without a worker, a task sent to the broker never runs.")
    app.loader.import_default_modules()
    schedule = app.conf.beat_schedule or {}
    missing = sorted({entry["task"] for entry in schedule.values()} - set(app.tasks.keys()))
    if missing:
        raise ImproperlyConfigured(
            "CELERY_BEAT_SCHEDULE names tasks that are not registered, so the embedded beat would send them to a "
            f"broker nobody reads: {', '.join(missing)}")
    return sorted(schedule)


class EmbeddedBeat:
    """A started beat Service in a daemon thread. `stop()` asks it to finish and waits a little."""

    def __init__(self, app, *, max_interval: float | None = None, scheduler_cls: str = SCHEDULER):
        from celery.beat import Service

        self.app = app
        self.service = Service(app, max_interval=max_interval, scheduler_cls=scheduler_cls)
        self.thread = threading.Thread(target=self._run, name="embedded-beat", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        self.app.set_current()
        try:
            self.service.start()
        except BaseException as exc:  # logged, never raised into a dying thread silently
            self.error = exc
            log.exception("embedded beat stopped: scheduled jobs will not run until the server restarts")
        finally:
            connections.close_all()  # this thread's connections only

    def start(self) -> EmbeddedBeat:
        self.thread.start()
        return self

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def stop(self, timeout: float | None = 2.0) -> bool:
        """Stops after the current tick. The loop sleeps up to beat's max interval (5 s for the database
        scheduler); past `timeout` the daemon thread is left to end with the process. Nothing is lost:
        CELERY_BEAT_SYNC_EVERY=1 saves each entry's last run as soon as it runs, and tasks are idempotent."""
        self.service.stop(wait=False)
        self.thread.join(timeout)
        return not self.thread.is_alive()


def start(app=None, *, max_interval: float | None = None) -> EmbeddedBeat:
    """Prepares and starts the embedded beat; the caller stops it when the server stops."""
    app = app or _default_app()
    names = prepare(app)
    beat = EmbeddedBeat(app, max_interval=max_interval).start()
    log.info("embedded beat started (%s): %s", SCHEDULER, ", ".join(names) or "no entries")
    return beat
