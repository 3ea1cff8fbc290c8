"""Payment reminders: the daily job sends each scheduled reminder once; manual reminders; the beat entries."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import connection

from apps.billing import services, tasks
from apps.billing.models import InvoiceReminder, InvoiceSettings
from apps.billing.services.reminders import DEFAULT_DAYS_AFTER, DEFAULT_DAYS_BEFORE
from apps.core.errors import BusinessRuleViolation, NotFound
from apps.core.tenancy import Tenant
from tests.conftest import is_postgres
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

DUE = date(2026, 6, 15)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def clock(time_machine):
    """Invoices are issued on 1 May; each run moves the clock to its day, as the daily job meets it."""
    time_machine.move_to(datetime(2026, 5, 1, 10, 0, tzinfo=UTC), tick=False)
    return time_machine


@pytest.fixture
def customer(sandbox):
    return make_customer(sandbox, name="Ada Lovelace", email="ada@example.com", currency="GBP")


def issued(sandbox, actor, customer, due=DUE, amount=12_000, **extra):
    invoice = services.invoice_create(tenant=sandbox, actor=actor, customer=customer, due_date=due, **extra,
                                      lines=[services.LineInput(description="Consulting",
                                                                unit_amount_minor=amount)])
    return services.invoice_finalize(tenant=sandbox, actor=actor, invoice=invoice)


@pytest.fixture
def run(clock, django_capture_on_commit_callbacks):
    """The daily job on a day (the clock moved there: its emails say 'due in 3 days' that day)."""

    def on(day: date) -> int:
        clock.move_to(datetime(day.year, day.month, day.day, 6, 0, tzinfo=UTC), tick=False)
        with django_capture_on_commit_callbacks(execute=True):
            return services.invoices_send_reminders()

    return on


def reminder_mails():
    return [m for m in mail.outbox if m.subject.startswith("Reminder")]


def test_defaults_each_reminder_once_even_when_the_job_runs_twice(sandbox, actor, customer, run):
    assert (DEFAULT_DAYS_BEFORE, DEFAULT_DAYS_AFTER) == ((3,), (1, 7))
    invoice = issued(sandbox, actor, customer)
    assert run(DUE - timedelta(days=4)) == 0
    assert run(DUE - timedelta(days=3)) == 1
    assert run(DUE - timedelta(days=3)) == 0  # the same day again: nothing new
    [before] = reminder_mails()
    assert before.to == ["ada@example.com"] and "is due in 3 days" in before.subject
    assert before.alternatives[0][1] == "text/html" and f"/i/{invoice.hosted_token}" in before.body
    assert run(DUE) == 0
    assert run(DUE + timedelta(days=1)) == 1
    assert run(DUE + timedelta(days=1)) == 0
    assert "1 day ago" in reminder_mails()[-1].body
    assert run(DUE + timedelta(days=7)) == 1
    assert run(DUE + timedelta(days=8)) == 0  # the grace day does not resend the 7-day reminder
    assert len(reminder_mails()) == 3
    rows = set(InvoiceReminder.objects.filter(invoice=invoice).values_list("kind", "offset_days", "sent_to"))
    assert rows == {("before_due", 3, "ada@example.com"), ("after_due", 1, "ada@example.com"),
                    ("after_due", 7, "ada@example.com")}


def test_a_missed_day_is_caught_up_once(sandbox, actor, customer, run):
    issued(sandbox, actor, customer)
    assert run(DUE + timedelta(days=8)) == 1  # the job did not run on day 7
    assert InvoiceReminder.objects.get().offset_days == 7
    assert run(DUE + timedelta(days=9)) == 0  # beyond the grace window


def test_merchant_schedule_and_only_invoices_still_owed(sandbox, actor, customer, run):
    schedule = {"reminder_days_before": [5], "reminder_days_after": [2]}
    InvoiceSettings.objects.update_or_create(merchant=sandbox.merchant, defaults=schedule)
    owed = issued(sandbox, actor, customer)
    paid = issued(sandbox, actor, customer)
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=paid, method="cash")
    voided = issued(sandbox, actor, customer)
    issued(sandbox, actor, customer, collection_method="charge_automatically")  # dunning follows it up
    services.invoice_void(tenant=sandbox, actor=actor, invoice=voided)
    services.invoice_create(tenant=sandbox, actor=actor, customer=customer, due_date=DUE,  # a draft
                            lines=[services.LineInput(description="x", unit_amount_minor=100)])
    assert run(DUE - timedelta(days=3)) == 0  # the default 3 days no longer applies
    assert run(DUE - timedelta(days=5)) == 1
    assert run(DUE + timedelta(days=2)) == 1
    assert set(InvoiceReminder.objects.values_list("invoice_id", flat=True)) == {owed.pk}


def test_no_before_due_reminder_for_a_date_before_the_invoice_was_issued(sandbox, actor, customer, clock,
                                                                         run):
    clock.move_to(datetime(2026, 6, 13, 10, 0, tzinfo=UTC), tick=False)
    issued(sandbox, actor, customer)  # 2 days before it is due
    # The 3-days-before reminder fell on the 12th, before it existed: the 13th's grace run sends nothing.
    assert run(DUE - timedelta(days=2)) == 0


def test_manual_reminders(sandbox, actor, customer, other_tenant, django_capture_on_commit_callbacks):
    invoice = issued(sandbox, actor, customer)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.invoice_send_reminder(tenant=sandbox, actor=actor, invoice=invoice)
        services.invoice_send_reminder(tenant=sandbox, actor=actor, invoice=invoice)  # as often as asked
    assert first.kind == "manual" and first.sent_to == "ada@example.com"
    assert InvoiceReminder.objects.filter(invoice=invoice, kind="manual").count() == 2
    assert len(reminder_mails()) == 2
    with pytest.raises(NotFound):
        services.invoice_send_reminder(tenant=Tenant(other_tenant.merchant, livemode=False), actor=actor,
                                       invoice=invoice)
    services.invoice_record_payment(tenant=sandbox, actor=actor, invoice=invoice, method="cash")
    invoice.refresh_from_db()
    with pytest.raises(BusinessRuleViolation):
        services.invoice_send_reminder(tenant=sandbox, actor=actor, invoice=invoice)


def test_the_task_and_the_overdue_job(sandbox, actor, customer, django_capture_on_commit_callbacks, clock):
    invoice = issued(sandbox, actor, customer)
    clock.move_to(datetime(2026, 6, 16, 9, 0, tzinfo=UTC), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.send_invoice_reminders() == 1
        assert tasks.mark_overdue_invoices() == 1
    invoice.refresh_from_db()
    assert invoice.status == "overdue"
    assert any("overdue" in m.subject for m in mail.outbox)


def test_beat_schedules_reminders_and_overdue_marking():
    tasks_scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"apps.billing.tasks.send_invoice_reminders",
            "apps.billing.tasks.mark_overdue_invoices"} <= tasks_scheduled


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not is_postgres(), reason="concurrent transactions need PostgreSQL")
def test_concurrent_runs_send_each_reminder_once(sandbox, actor, customer, clock):
    issued(sandbox, actor, customer)
    clock.move_to(datetime(2026, 6, 12, 6, 0, tzinfo=UTC), tick=False)  # 3 days before due
    mail.outbox.clear()
    barrier = threading.Barrier(4)
    results: list[int] = []

    def job():
        try:
            barrier.wait()
            results.append(services.invoices_send_reminders())
        finally:
            connection.close()

    threads = [threading.Thread(target=job) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 0, 0, 1]
    assert InvoiceReminder.objects.count() == 1 and len(reminder_mails()) == 1
