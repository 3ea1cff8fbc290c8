"""`manage.py runserver_embedded [addr:port]`: the whole product in one process, for `make run`.

It is the project's `runserver` (daphne's, as daphne is first in INSTALLED_APPS: ASGI, so Channels
works; static files are served while DEBUG is on) plus the scheduled jobs of CELERY_BEAT_SCHEDULE,
run in-process by Celery beat in a daemon thread (apps.core.embedded_beat). No auto-reload unless
--reload is given; even then beat runs only in the serving child, never in the reloader's parent.

Service mode (DATABASE_URL + REDIS_URL) refuses it: there the web, the worker and beat are separate
processes (`make serve`).
"""
from django.conf import settings
from django.core.management import CommandError, get_commands, load_command_class
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from apps.core import embedded_beat

SERVICE_MODE_MESSAGE = (
    "runserver_embedded is for embedded mode (no DATABASE_URL/REDIS_URL), where tasks and schedules run "
    "inside the web process. These settings (RUN_MODE={mode}) expect a real Celery worker and beat: "
    "use `make serve` (uvicorn + celery worker + celery beat, see Procfile)."
)


def _runserver_class():
    # Whatever `manage.py runserver` is in this project (daphne's ASGI one), not Django's WSGI default.
    return type(load_command_class(get_commands()["runserver"], "runserver"))


class Command(_runserver_class()):
    help = "Serves the product with its scheduled jobs running in-process (embedded mode, `make run`)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(use_reloader=False)
        parser.add_argument("--reload", action="store_true", dest="use_reloader",
                            help="Restart on code changes (beat runs in the serving process only).")

    def handle(self, *args, **options):
        if not getattr(settings, "EMBEDDED_BEAT", False):
            raise CommandError(SERVICE_MODE_MESSAGE.format(mode=getattr(settings, "RUN_MODE", "?")))
        super().handle(*args, **options)

    def inner_run(self, *args, **options):
        # Runs in the process that serves (the child, under the autoreloader), once Django is set up.
        beat = None
        if self._migrations_pending():
            self.stderr.write("Scheduled jobs are off: run `manage.py migrate` first (django-celery-beat keeps "
                              "the schedule in the database).")
        else:
            beat = embedded_beat.start()
            names = ", ".join(sorted(settings.CELERY_BEAT_SCHEDULE))
            self.stdout.write(f"Scheduled jobs run in this process (Celery beat, database scheduler): {names}")
        try:
            super().inner_run(*args, **options)
        finally:
            if beat is not None:
                beat.stop()

    @staticmethod
    def _migrations_pending() -> bool:
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            executor = MigrationExecutor(connection)
            return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
        finally:
            connection.close()
