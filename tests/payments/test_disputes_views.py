"""The dashboard's disputes pages: the list (status filter, deadline urgency, htmx partial, constant query
count), the detail (the payment, the held amount and fee, page 044's recommended evidence), the evidence
form over a dispute learned from the simulator (a PDF accepted, a bad file type a form error with nothing
written), roles and tenancy (another merchant's dispute is a 404)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.clock import now
from apps.core.models import Event
from apps.core.tenancy import Tenant as CoreTenant
from apps.payments import services
from apps.payments.models import Dispute, DisputeEvidenceFile
from apps.payments.simulators.nmi import chargebacks
from tests.factories import make_customer, make_member
from tests.payments.payments_helpers import payments_db
from tests.payments.probes_disputes import make_dispute
from tests.payments.test_disputes import PDF, ny, settled_payment

LIST = reverse("dashboard:disputes")
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "dispute-results"}


def detail_url(dispute) -> str:
    return reverse("dashboard:dispute_detail", args=[dispute.pk])


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.mark.django_db
def test_list_filters_by_status_and_shows_deadline_urgency(owner_client, sandbox_tenant):
    customer = make_customer(sandbox_tenant, name="Dee Sputer")
    urgent = make_dispute(sandbox_tenant, customer=customer, disputed_at=now() - timedelta(days=6), amount_minor=2599)
    relaxed = make_dispute(sandbox_tenant, disputed_at=now() - timedelta(hours=1))
    won = make_dispute(sandbox_tenant, status="won", disputed_at=now() - timedelta(days=30))

    page = owner_client.get(LIST)
    assert page.status_code == 200
    body = page.content.decode()
    assert [d.pk for d, _, _ in page.context["rows"]] == [relaxed.pk, urgent.pk, won.pk]
    assert "Dee Sputer" in body and "£25.99" in body and "Unauthorized (fraud)" in body
    deadlines = {d.pk: deadline for d, deadline, _ in page.context["rows"]}
    assert (deadlines[urgent.pk].tone, deadlines[urgent.pk].label) == ("red", "Due today")
    assert (deadlines[relaxed.pk].tone, deadlines[relaxed.pk].days_left) == ("gray", 6)
    assert deadlines[won.pk].days_left is None

    needs = owner_client.get(LIST, {"status": "needs_response"})
    assert {d.pk for d, _, _ in needs.context["rows"]} == {urgent.pk, relaxed.pk}
    partial = owner_client.get(LIST, {"status": "won"}, **HTMX)
    assert "<html" not in partial.content.decode() and won.pk in partial.content.decode()
    assert urgent.pk not in partial.content.decode()
    assert owner_client.get(LIST, {"q": "Sputer"}).context["rows"][0][0].pk == urgent.pk
    assert 'data-testid="nav-disputes"' in body


def _count(client, url) -> tuple[int, int]:
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["rows"])


@pytest.mark.django_db
def test_the_list_costs_the_same_for_5_and_40_disputes(owner_client, sandbox_tenant):
    def populate(n):
        for i in range(n):
            customer = make_customer(sandbox_tenant, name=f"Customer {i}") if i % 2 else None
            make_dispute(sandbox_tenant, customer=customer, status=["needs_response", "under_review", "lost"][i % 3])

    populate(5)
    few_queries, few_rows = _count(owner_client, LIST)
    populate(35)
    many_queries, many_rows = _count(owner_client, LIST)
    assert (few_rows, many_rows) == (5, 25)
    assert many_queries == few_queries, f"{few_queries} queries for 5 rows, {many_queries} for 40"


@pytest.mark.django_db
def test_detail_shows_the_payment_the_money_and_the_recommended_evidence(owner_client, sandbox_tenant, other_tenant):
    dispute = make_dispute(sandbox_tenant, amount_minor=4000)
    page = owner_client.get(detail_url(dispute))
    assert page.status_code == 200
    body = page.content.decode()
    assert reverse("dashboard:payment_detail", args=[dispute.payment_id]) in body
    assert "−£40.00" in body and "−£15.00" in body  # held and the chargeback fee
    assert "AVS/CVV match, IP address, prior purchases, delivery confirmation" in body  # page 044, fraudulent
    form = page.context["evidence_form"]
    assert list(form.fields)[:5] == ["explanation", "avs_cvv_result", "customer_purchase_ip", "prior_purchases",
                                     "delivery_confirmation"]
    assert 'enctype="multipart/form-data"' in body

    foreign = make_dispute(CoreTenant(other_tenant.merchant, livemode=False))
    assert owner_client.get(detail_url(foreign)).status_code == 404
    assert owner_client.get(reverse("dashboard:dispute_detail", args=["dsp_nope"])).status_code == 404


@pytest.mark.django_db
def test_a_viewer_sees_disputes_but_cannot_answer_them(client, tenant, sandbox_tenant):
    dispute = make_dispute(sandbox_tenant)
    client.force_login(make_member(tenant.merchant, role="viewer").user)
    page = client.get(detail_url(dispute))
    assert page.status_code == 200 and 'data-testid="evidence-form"' not in page.content.decode()
    assert client.post(detail_url(dispute), {"explanation": "x"}).status_code == 403
    assert Dispute.objects.get(pk=dispute.pk).status == "needs_response"


@payments_db
def test_evidence_with_a_pdf_over_a_synced_dispute_then_a_bad_file_is_a_form_error(
        shop, sandbox, actor, owner_client, media):
    with time_machine.travel(ny(10, 12), tick=True):
        payment = settled_payment(sandbox, actor)
        chargebacks.inject_chargeback(payment.gateway_transaction_id, reason_code="13.1", notify=False)
        (dispute_id,) = services.disputes_sync(gateway_account=payment.gateway_account).opened
        dispute = Dispute.objects.get(pk=dispute_id)
        url = detail_url(dispute)

        bad = owner_client.post(url, {"explanation": "Delivered.",
                                      "files": SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="application/x-msdownload")})
        assert bad.status_code == 400
        assert "must be a PDF, PNG or JPEG file" in str(bad.context["evidence_form"].errors["files"])
        too_long = owner_client.post(url, {"customer_name": "x" * 501})
        assert too_long.status_code == 400 and "customer_name" in too_long.context["evidence_form"].errors
        attach_bad = owner_client.post(reverse("dashboard:dispute_attach", args=[dispute.pk]),
                                       {"file": SimpleUploadedFile("fake.png", b"GIF89a", content_type="image/png")})
        assert attach_bad.status_code == 400 and attach_bad.context["attach_form"].errors["file"]
        assert not DisputeEvidenceFile.objects.exists()
        assert Dispute.objects.get(pk=dispute.pk).status == "needs_response"

        attached = owner_client.post(reverse("dashboard:dispute_attach", args=[dispute.pk]),
                                     {"file": SimpleUploadedFile("tracking.pdf", PDF, content_type="application/pdf"),
                                      "category": "shipping"})
        assert attached.status_code == 302
        done = owner_client.post(url, {"explanation": "Delivered on 12 June, signed for.",
                                       "shipping_tracking_number": "1Z999",
                                       "files": SimpleUploadedFile("receipt.pdf", PDF, content_type="application/pdf")})
        assert done.status_code == 302, done.context and done.context["evidence_form"].errors
        page = owner_client.get(url)
    dispute.refresh_from_db()
    assert dispute.status == "under_review"
    assert dispute.evidence == {"explanation": "Delivered on 12 June, signed for.", "shipping_tracking_number": "1Z999"}
    names = sorted(DisputeEvidenceFile.objects.filter(dispute=dispute).values_list("original_name", flat=True))
    assert names == ["receipt.pdf", "tracking.pdf"]
    body = page.content.decode()
    assert "receipt.pdf" in body and "tracking.pdf" in body and "Under review" in body
    assert 'data-testid="evidence-form"' not in body and "1Z999" in body
    stored = DisputeEvidenceFile.objects.get(original_name="receipt.pdf")
    download = owner_client.get(reverse("dashboard:dispute_file", args=[dispute.pk, stored.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert Event.objects.filter(type="charge.dispute.updated", object_id=dispute.pk).count() == 1


@pytest.mark.django_db
def test_admin_shows_disputes_read_only(admin_client, sandbox_tenant):
    dispute = make_dispute(sandbox_tenant, amount_minor=4000)
    listing = admin_client.get(reverse("admin:payments_dispute_changelist"))
    assert listing.status_code == 200 and dispute.pk in listing.content.decode()
    change = admin_client.get(reverse("admin:payments_dispute_change", args=[dispute.pk]))
    assert change.status_code == 200 and "£40.00" in change.content.decode()
    assert admin_client.get(reverse("admin:payments_disputeevidencefile_changelist")).status_code == 200
    assert admin_client.post(reverse("admin:payments_dispute_change", args=[dispute.pk]),
                             {"status": "won"}).status_code == 403
    assert Dispute.objects.get(pk=dispute.pk).status == "needs_response"
