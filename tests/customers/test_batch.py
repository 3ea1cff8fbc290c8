"""Batch upsert by external id (page 148): all rows validated first, all-or-nothing, per-row results,
idempotent replays, a fixed number of queries whatever the row count."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.models import Event
from apps.customers import services
from apps.customers.models import Customer, CustomerExternalId
from apps.customers.services import BatchRejected
from tests.conftest import requires_postgres
from tests.factories import make_customer


def rows(n, *, start=0, **extra):
    return [{"external_id": f"ext-{i}", "email": f"person{i}@example.com", "name": f"Person {i}",
             "billing_address": {"line1": f"{i} Main St", "city": "Leeds", "country": "GB"},
             "metadata": {"row": str(i)}, **extra} for i in range(start, start + n)]


def customer_events(tenant):
    return Event.objects.filter(merchant=tenant.merchant, livemode=tenant.livemode, type__startswith="customer.")


def test_a_malformed_row_rejects_the_whole_batch_and_reports_every_problem(sandbox, actor):
    batch = rows(6)
    batch[3]["email"] = "not-an-email"
    batch[5]["billing_address"]["country"] = "Britain"
    batch[1]["surprise"] = True
    with pytest.raises(BatchRejected) as exc:
        services.customer_batch_upsert(tenant=sandbox, actor=actor, source="crm", rows=batch)
    assert set(exc.value.fields) == {"customers[3].email", "customers[5].billing_address.country",
                                     "customers[1].surprise"}
    results = exc.value.details["results"]
    assert [r["status"] for r in results] == ["skipped", "error", "skipped", "error", "skipped", "error"]
    assert results[3]["errors"] == {"email": ["must be a valid email address"]} and results[3]["id"] is None
    assert not Customer.all_objects.exists() and not CustomerExternalId.objects.exists()
    assert not customer_events(sandbox).exists()


def test_duplicates_inside_a_batch_and_clashes_with_stored_emails_are_row_errors(sandbox, actor):
    taken = make_customer(sandbox, email="taken@example.com", external_ids=[("crm", "old")])
    batch = rows(4)
    batch[2]["external_id"] = "ext-0"           # same key as row 0
    batch[3]["email"] = "PERSON1@example.com"  # same email as row 1
    batch.append({"external_id": "ext-9", "email": "taken@example.com"})  # taken, and that customer has a crm id
    with pytest.raises(BatchRejected) as exc:
        services.customer_batch_upsert(tenant=sandbox, actor=actor, source="crm", rows=batch)
    assert set(exc.value.fields) == {"customers[2].external_id", "customers[3].email", "customers[4].email"}
    assert "customers[0]" in exc.value.fields["customers[2].external_id"][0]
    assert taken.pk in exc.value.fields["customers[4].email"][0]
    assert Customer.objects.count() == 1


def test_rows_need_a_source_an_external_id_and_an_email_to_create(sandbox, actor):
    with pytest.raises(BatchRejected) as exc:
        services.customer_batch_upsert(tenant=sandbox, actor=actor, rows=[
            {"external_id": "1", "email": "a@example.com"},
            {"source": "crm", "email": "b@example.com"},
            {"source": "crm", "externalId": "3"},
            "not an object"])
    assert exc.value.fields == {
        "customers[0].source": ["is required (on the row or as the batch's source)"],
        "customers[1].external_id": ["is required"],
        "customers[2].email": ["is required to create a customer"],
        "customers[3]": ["must be a JSON object"],
    }


@pytest.mark.parametrize("bad, field", [([], "customers"), ("x", "customers"),
                                        ([{}] * (services.BATCH_MAX_ROWS + 1), "customers")])
def test_the_batch_itself_must_be_a_list_of_1_to_1000_rows(sandbox, actor, bad, field):
    with pytest.raises(Exception) as exc:
        services.customer_batch_upsert(tenant=sandbox, actor=actor, source="crm", rows=bad)
    assert list(exc.value.fields) == [field]


def test_per_row_source_wins_and_results_follow_input_order(sandbox, actor):
    existing = make_customer(sandbox, email="known@example.com", name="Known", external_ids=[("wodify", "k")])
    outcome = services.customer_batch_upsert(tenant=sandbox, actor=actor, source="crm", rows=[
        {"external_id": "n1", "email": "new@example.com"},
        {"source": "wodify", "external_id": "k", "name": "Known Better"},
        {"source": "wodify", "external_id": "k2", "email": "other@example.com"},
    ])
    assert [(r["index"], r["status"]) for r in outcome.results] == [(0, "created"), (1, "updated"), (2, "created")]
    assert outcome.results[1]["id"] == existing.pk
    assert outcome.summary == {"created": 2, "updated": 1, "unchanged": 0, "stale": 0}
    assert CustomerExternalId.objects.get(source="crm", external_id="n1").customer.email == "new@example.com"


def test_batch_of_1000_is_applied_once_and_replays_change_nothing(sandbox, actor):
    batch = rows(1000)
    first = services.customer_batch_upsert(tenant=sandbox, actor=actor, source="crm", rows=batch)
    assert first.summary["created"] == 1000
    assert Customer.objects.filter(merchant=sandbox.merchant).count() == 1000
    assert customer_events(sandbox).filter(type="customer.created").count() == 1000
    stamps = dict(Customer.objects.values_list("pk", "updated_at"))

    second = services.customer_batch_upsert(tenant=sandbox, actor=actor, source="crm", rows=batch)
    assert second.summary == {"created": 0, "updated": 0, "unchanged": 1000, "stale": 0}
    assert [r["id"] for r in second.results] == [r["id"] for r in first.results]
    assert customer_events(sandbox).count() == 1000  # no new events
    assert dict(Customer.objects.values_list("pk", "updated_at")) == stamps

    batch[500]["name"] = "Changed"
    third = services.customer_batch_upsert(tenant=sandbox, actor=actor, source="crm", rows=batch)
    assert third.summary["updated"] == 1 and third.results[500]["status"] == "updated"
    [event] = customer_events(sandbox).filter(type="customer.updated")
    assert event.previous_attributes == {"name": "Person 500"}


def test_stale_rows_are_skipped(sandbox, actor):
    services.customer_batch_upsert(tenant=sandbox, actor=actor, source="crm", rows=[
        {"external_id": "1", "email": "a@example.com", "name": "v2", "external_updated_at": "2026-05-02T00:00:00Z"}])
    outcome = services.customer_batch_upsert(tenant=sandbox, actor=actor, source="crm", rows=[
        {"external_id": "1", "name": "v1", "external_updated_at": "2026-05-01T00:00:00Z"}])
    assert outcome.results[0]["status"] == "stale"
    assert Customer.objects.get().name == "v2"


@requires_postgres  # SQLite caps the parameters of one statement, so its bulk writes come in more chunks
def test_query_count_does_not_grow_with_rows(sandbox, actor):
    """Reads and writes are bulk: only the per-customer event INSERTs grow with the batch."""
    def count(batch):
        with CaptureQueriesContext(connection) as ctx:
            services.customer_batch_upsert(tenant=sandbox, actor=actor, source="crm", rows=batch)
        event_inserts = sum(1 for q in ctx.captured_queries if 'INSERT INTO "core_event"' in q["sql"])
        return len(ctx.captured_queries) - event_inserts

    assert count(rows(10)) == count(rows(300, start=10))  # creates
    small, large = rows(10), rows(300, start=10)
    for row in small + large:
        row["name"] += " (renamed)"
    assert count(small) == count(large)  # updates
    assert count(small) == count(large)  # unchanged: reads only
