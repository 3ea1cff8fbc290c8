"""The embedded beat (apps.core.embedded_beat): Celery beat's Service with django-celery-beat's database
scheduler, in a thread, applying due tasks eagerly in this process. These tests run the real thing for a
few seconds with 1-second entries and look at the side effects."""
import os
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import override_settings
from django_celery_beat.models import PeriodicTask

from apps.core import embedded_beat
from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.events import emit_event
from apps.core.management.commands.runserver_embedded import Command as RunserverEmbedded
from apps.core.models import Event
from apps.core.tenancy import Tenant
from revkeen.celery import app
from tests.factories import make_merchant

PROBE_RUNS: list[tuple[str, str, int]] = []


@app.task(name="tests.core.embedded_beat_probe", ignore_result=True)
def embedded_beat_probe(marker: str) -> None:
    PROBE_RUNS.append((marker, threading.current_thread().name, os.getpid()))


def _wait_for(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def eager(monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", True)


@pytest.fixture
def running_beat():
    started = []

    def start(**kwargs):
        beat = embedded_beat.start(app, **kwargs)
        started.append(beat)
        return beat

    yield start
    for beat in started:
        assert beat.stop(timeout=10), "the beat thread did not stop"


def test_a_periodic_task_scheduled_by_the_embedded_beat_runs_in_process(transactional_db, eager, monkeypatch,
                                                                         running_beat):
    # An event the after-commit dispatch missed (say the process died): only the outbox sweep can send it.
    merchant = make_merchant(name="Sweep Ltd")
    event = emit_event(tenant=Tenant(merchant, False), type="customer.created", data={"id": "cus_1", "object": "customer"},
                       actor=Actor.system())
    Event.objects.filter(pk=event.pk).update(dispatched_at=None, created_at=now() - timedelta(minutes=5))
    monkeypatch.setitem(app.conf, "beat_schedule", {
        "probe": {"task": "tests.core.embedded_beat_probe", "schedule": 1.0, "args": ["tick"]},
        "sweep": {"task": "apps.core.tasks.dispatch_pending_events", "schedule": 1.0},
    })
    PROBE_RUNS.clear()

    beat = running_beat(max_interval=0.5)
    assert _wait_for(lambda: len(PROBE_RUNS) >= 2), "the 1-second probe entry never ran"
    assert _wait_for(lambda: Event.objects.filter(pk=event.pk, dispatched_at__isnull=False).exists()), \
        "the scheduled outbox sweep did not dispatch the stranded event"
    assert beat.stop(timeout=10)
    assert beat.error is None

    # Eager: the task body ran inline in the beat thread of this very process, not on a broker.
    assert {(marker, thread, pid) for marker, thread, pid in PROBE_RUNS} == {("tick", "embedded-beat", os.getpid())}
    # The database scheduler recorded the runs (what makes a restart keep the rhythm).
    probe = PeriodicTask.objects.get(name="probe")
    assert probe.task == "tests.core.embedded_beat_probe" and probe.interval.every == 1
    assert probe.total_run_count >= 2 and probe.last_run_at is not None


def test_the_project_schedule_is_registered_and_synced_to_the_database(transactional_db, eager, running_beat):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["events-dispatch-pending"] == {"task": "apps.core.tasks.dispatch_pending_events", "schedule": 60.0}
    assert embedded_beat.prepare(app) == sorted(schedule)
    assert {entry["task"] for entry in schedule.values()} <= set(app.tasks.keys())

    running_beat(max_interval=0.5)
    assert _wait_for(lambda: set(schedule) <= set(PeriodicTask.objects.values_list("name", flat=True)))
    for name, entry in schedule.items():
        task = PeriodicTask.objects.select_related("interval").get(name=name)
        assert task.task == entry["task"] and task.enabled
        assert task.interval.every * {"seconds": 1, "minutes": 60, "hours": 3600}[task.interval.period] == entry["schedule"]


def test_an_unregistered_scheduled_task_is_refused_not_silently_dropped(eager, monkeypatch):
    monkeypatch.setitem(app.conf, "beat_schedule", {"typo": {"task": "apps.core.tasks.no_such_task", "schedule": 5.0}})
    with pytest.raises(ImproperlyConfigured, match="apps.core.tasks.no_such_task"):
        embedded_beat.prepare(app)


def test_without_eager_tasks_the_embedded_beat_refuses(monkeypatch):
    monkeypatch.setitem(app.conf, "task_always_eager", False)
    with pytest.raises(ImproperlyConfigured, match="ALWAYS_EAGER"):
        embedded_beat.prepare(app)


def test_runserver_embedded_refuses_in_service_mode():
    with override_settings(RUN_MODE="service", EMBEDDED_BEAT=False), pytest.raises(CommandError, match="make serve"):
        call_command("runserver_embedded", "127.0.0.1:0")


def test_runserver_embedded_does_not_autoreload_unless_asked():
    parser = RunserverEmbedded().create_parser("manage.py", "runserver_embedded")
    assert parser.parse_args([]).use_reloader is False
    assert parser.parse_args(["--reload"]).use_reloader is True
    # It is the project's runserver underneath: daphne's (ASGI, Channels), with static file serving.
    assert any(cls.__module__ == "daphne.management.commands.runserver" for cls in RunserverEmbedded.__mro__)
