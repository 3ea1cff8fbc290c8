"""Invoices kept in step with another system (page 215/216): upsert by (source, external id).

- No invoice with that external id: a draft is created (source `external`).
- A draft: the given fields are changed and, when `lines` is given, the lines are replaced by them.
- A finalized invoice is an issued document: only its metadata may change. A body that would change
  anything else is a 409 conflict (`invoice_finalized`); the same body again (a replay) is `unchanged`.

Fields not given are kept. The unique constraint on (merchant, mode, source, external id) makes two
concurrent creations of one external id a single invoice: the loser is retried once and then finds it.
The batch applies every row in one transaction: one bad row and nothing is applied.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from apps.core.actors import Actor
from apps.core.errors import BusinessRuleViolation, Conflict, DomainError, ValidationFailed
from apps.core.tenancy import Tenant
from apps.core.upsert import UpsertOutcome

from ..models import Invoice
from .invoices import DRAFT_STATUSES, LineInput, invoice_create, invoice_lines_add, invoice_update

BATCH_MAX_ROWS = 100
# The invoice fields an upsert may carry (besides `lines`), as invoice_create takes them.
UPSERT_FIELDS = ("customer", "currency", "due_date", "days_until_due", "memo", "footer", "description", "discount",
                 "collection_method", "metadata")


def _line_key(line) -> tuple:
    """What identifies a line's content, for LineInput and InvoiceLine alike (a replay changes nothing)."""
    price_id = getattr(line, "price_id", None) if not isinstance(line, LineInput) else (
        line.price.pk if line.price else None)
    tax_rate_id = getattr(line, "tax_rate_id", None) if not isinstance(line, LineInput) else (
        line.tax_rate.pk if line.tax_rate else None)
    unit = None if price_id else line.unit_amount_minor
    return (price_id, unit, line.quantity, tax_rate_id, bool(line.tax_exempt))


def _lines_differ(invoice: Invoice, lines: list[LineInput]) -> bool:
    stored = list(invoice.lines.order_by("position", "id"))
    if len(stored) != len(lines):
        return True
    for row, line in zip(stored, lines, strict=True):
        if _line_key(row) != _line_key(line):
            return True
        if line.description.strip() and line.description.strip()[:500] != row.description:
            return True
    return False


def _differences(invoice: Invoice, fields: dict) -> dict:
    changes = {}
    for name, value in fields.items():
        current = getattr(invoice, name)
        if name in ("customer", "discount"):
            if (current.pk if current else None) != (value.pk if value else None):
                changes[name] = value
        elif name == "currency":
            if (value or "").upper() != current:
                changes[name] = value
        elif name in ("memo", "footer", "description"):
            if (value or "") != current:
                changes[name] = value or ""
        elif current != value:
            changes[name] = value
    return changes


def invoice_upsert_by_external_id(*, tenant: Tenant, actor: Actor, source: str, external_id: str, fields: dict,
                                  lines: list[LineInput] | None = None, request_id: str = "") -> tuple[Invoice, str]:
    """Returns (invoice, status) with status created | updated | unchanged | stale. `fields` holds parsed
    values (customer and discount as objects); `lines`, when given, is the complete list of lines.
    `fields["external_updated_at"]` (the source's last change) makes an older upsert `stale`: nothing is
    applied, so a late retry from the source never overwrites a newer version."""
    unknown = set(fields) - set(UPSERT_FIELDS) - {"external_updated_at"}
    if unknown:
        raise ValidationFailed(f"{sorted(unknown)[0]}: unknown field", fields={n: ["unknown field"] for n in unknown})
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _upsert(tenant, actor, source, external_id, fields, lines, request_id)
        except IntegrityError:
            if attempt:
                raise Conflict("Another request created this external invoice at the same time; retry.") from None
    raise AssertionError("unreachable")


def _upsert(tenant, actor, source, external_id, fields, lines, request_id) -> tuple[Invoice, str]:
    fields = dict(fields)
    source_updated_at = fields.pop("external_updated_at", None)
    existing = (Invoice.objects.select_for_update(of=("self",)).select_related("merchant", "customer", "discount")
                .filter(merchant=tenant.merchant, livemode=tenant.livemode, external_source=source,
                        external_id=external_id).first())
    if existing is None:
        if fields.get("customer") is None:
            raise ValidationFailed("customer_id: is required to create an invoice",
                                   fields={"customer_id": ["is required to create an invoice"]})
        invoice = invoice_create(tenant=tenant, actor=actor, lines=lines or [], source=Invoice.Source.EXTERNAL,
                                 external_source=source, external_id=external_id, request_id=request_id, **fields)
        _note_source_version(invoice, source_updated_at)
        return invoice, "created"
    if source_updated_at and existing.external_updated_at and source_updated_at < existing.external_updated_at:
        return existing, "stale"
    _note_source_version(existing, source_updated_at)
    changes = _differences(existing, fields)
    lines_change = lines is not None and _lines_differ(existing, lines)
    if existing.status not in DRAFT_STATUSES:
        locked_fields = sorted(set(changes) - {"metadata"}) + (["lines"] if lines_change else [])
        if locked_fields:
            raise Conflict(f"Invoice {existing.number} is {existing.status}: only its metadata can change "
                           f"(this request changes {', '.join(locked_fields)}).", code="invoice_finalized",
                           param=locked_fields[0])
    if "currency" in changes:
        raise BusinessRuleViolation("An invoice's currency cannot change; create a new invoice instead.",
                                    code="invoice_currency_immutable", param="currency")
    if not changes and not lines_change:
        return existing, "unchanged"
    if changes:
        existing = invoice_update(tenant=tenant, actor=actor, invoice=existing, changes=changes, request_id=request_id)
    if lines_change:
        existing.lines.all().delete()
        existing = invoice_lines_add(tenant=tenant, actor=actor, invoice=existing, lines=lines, request_id=request_id)
    return existing, "updated"


def _note_source_version(invoice: Invoice, source_updated_at) -> None:
    if source_updated_at and (invoice.external_updated_at is None or source_updated_at > invoice.external_updated_at):
        Invoice.objects.filter(pk=invoice.pk).update(external_updated_at=source_updated_at)
        invoice.external_updated_at = source_updated_at


@dataclass
class BatchRow:
    index: int
    external_id: str = ""
    status: str = ""
    invoice: Invoice | None = None
    errors: dict = field(default_factory=dict)
    error: dict | None = None

    def result(self) -> dict:
        return {"index": self.index, "external_id": self.external_id or None, "status": self.status or "skipped",
                "id": self.invoice.pk if self.invoice is not None and self.status != "error" else None,
                "errors": self.errors or None, "error": self.error}


class BatchRejected(ValidationFailed):
    """A batch with at least one bad row: nothing applied; `details.results` says which rows."""

    def __init__(self, message: str, *, fields: dict, results: list[dict]):
        super().__init__(message, fields=fields)
        self.details["results"] = results


@dataclass(frozen=True, kw_only=True)
class BatchItem:
    """One parsed row of a batch, or the error its parsing raised."""

    external_id: str
    fields: dict = field(default_factory=dict)
    lines: list[LineInput] | None = None
    error: DomainError | None = None


def invoice_batch_upsert(*, tenant: Tenant, actor: Actor, source: str, items: list[BatchItem],
                         request_id: str = "") -> UpsertOutcome:
    """All or nothing: every row is upserted in one transaction (each in a savepoint so every problem is
    reported); if any fails, the whole batch is rolled back and BatchRejected lists `invoices[i].field`."""
    if not items:
        raise ValidationFailed("invoices: must not be empty", fields={"invoices": ["must not be empty"]})
    if len(items) > BATCH_MAX_ROWS:
        raise ValidationFailed(f"invoices: at most {BATCH_MAX_ROWS} rows",
                               fields={"invoices": [f"must have at most {BATCH_MAX_ROWS} rows (got {len(items)})"]})
    seen: dict[str, int] = {}
    with transaction.atomic():
        rows: list[BatchRow] = []
        for i, item in enumerate(items):
            row = BatchRow(index=i, external_id=item.external_id)
            rows.append(row)
            error = item.error
            if error is None and item.external_id in seen:
                error = ValidationFailed("external_id: appears twice in this batch",
                                         fields={"external_id": [f"duplicates row {seen[item.external_id]}"]})
            seen.setdefault(item.external_id, i)
            if error is None:
                try:
                    with transaction.atomic():
                        row.invoice, row.status = invoice_upsert_by_external_id(
                            tenant=tenant, actor=actor, source=source, external_id=item.external_id,
                            fields=item.fields, lines=item.lines, request_id=request_id)
                except DomainError as exc:
                    error = exc
            if error is not None:
                row.status = "error"
                row.error = {"code": error.code, "message": error.message}
                reasons = getattr(error, "fields", None) or {error.param or "__all__": [error.message]}
                row.errors = reasons
        failed = [row for row in rows if row.status == "error"]
        if failed:
            fields = {f"invoices[{row.index}].{name}": reasons for row in failed for name, reasons in row.errors.items()}
            for row in rows:
                if row.status != "error":
                    row.status, row.invoice = "skipped", None
            first = failed[0]
            raise BatchRejected(f"{len(failed)} of {len(rows)} rows failed; nothing was applied. First problem: "
                                f"invoices[{first.index}]: {first.error['message']}", fields=fields,
                                results=[row.result() for row in rows])
        return UpsertOutcome(rows)
