"""Gapless numbering under real concurrency on PostgreSQL: 20 drafts finalized at the same moment through
the API (20 threads, 20 connections, real transactions) get exactly the numbers 1..20, no gap and no
duplicate; refused finalizations racing with them use up no number."""
from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.billing import services
from apps.billing.models import Invoice, NumberSequence
from tests.conftest import requires_postgres
from tests.factories import make_customer

pytestmark = [requires_postgres, pytest.mark.concurrency, pytest.mark.django_db(transaction=True)]
N = 20


def drafts(sandbox, actor, count: int) -> list[Invoice]:
    customer = make_customer(sandbox, name="Racer", currency="GBP")
    return [services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[
        services.LineInput(description=f"Job {i}", unit_amount_minor=1000 + i)]) for i in range(count)]


def race(tenant, calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index):
        try:
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=tenant.sandbox_key)
            barrier.wait()
            response = calls[index](client)
            results[index] = (response.status_code, response.json())
        except Exception as exc:  # reported by the assertion below
            results[index] = ("exception", repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_twenty_concurrent_finalizations_get_numbers_one_to_twenty(tenant, sandbox, actor):
    invoices = drafts(sandbox, actor, N)
    results = race(tenant, [lambda client, pk=invoice.pk: client.post(f"/v2/invoices/{pk}/finalize", {},
                                                                       format="json") for invoice in invoices])
    assert all(status == 200 for status, _ in results), results
    numbers = sorted(Invoice.objects.filter(merchant=sandbox.merchant).values_list("number", flat=True))
    year = Invoice.objects.first().finalized_at.year
    assert numbers == [f"INV-{year}-{i:05d}" for i in range(1, N + 1)]
    assert sorted(body["data"]["number"] for _, body in results) == numbers
    assert NumberSequence.objects.get(merchant=sandbox.merchant, livemode=False, kind="invoice").next_value == N + 1


def test_a_failed_finalization_leaves_no_gap(tenant, sandbox, actor):
    """Half the racers are refused (a negative total is a credit note, not an invoice: 422) inside their
    finalization transaction; they roll back and the six issued invoices are still numbered 1..6."""
    good = drafts(sandbox, actor, 6)
    customer = good[0].customer
    bad = [services.invoice_create(tenant=sandbox, actor=actor, customer=customer, lines=[
        services.LineInput(description="Credit", unit_amount_minor=-500)]) for _ in range(6)]
    calls = [lambda client, pk=invoice.pk: client.post(f"/v2/invoices/{pk}/finalize", {}, format="json")
             for invoice in [*good, *bad]]
    results = race(tenant, calls)
    assert sorted(status for status, _ in results) == [200] * 6 + [422] * 6, results
    numbers = sorted(n for n in Invoice.objects.values_list("number", flat=True) if n)
    year = Invoice.objects.exclude(number="").first().finalized_at.year
    assert numbers == [f"INV-{year}-{i:05d}" for i in range(1, 7)]
