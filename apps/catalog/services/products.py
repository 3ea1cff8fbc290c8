"""Every write to products: create (optionally with its first price, the guide's shortcut), update,
archive, delete (only while never sold), upsert by external id and batch upsert.

Each runs in one transaction and records `product.created` / `product.updated` / `product.archived`
/ `product.deleted` in it. A call that changes nothing writes nothing and emits nothing, so replaying
an upsert or a batch is a no-op.

`data` arguments are already type-checked (the API's serializers); the services apply the rules that
need the database (name required to create, lookup keys unique, duplicates inside a batch) and merge
metadata the Stripe way (see validation.merge_metadata).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q

from apps.core.actors import Actor
from apps.core.clock import now
from apps.core.errors import BusinessRuleViolation, Conflict, ValidationFailed
from apps.core.events import emit_event
from apps.core.tenancy import Tenant, get_scoped, scoped
from apps.core.upsert import UpsertOutcome

from .. import selectors
from ..models import Price, Product, ProductExternalId
from ..payloads import price_payload, product_payload
from ..validation import Errors, clean_price, first_message, join, merge_metadata
from ._common import BatchRejected, constraint_name, invalid
from .prices import PRICE_SHORTCUT_PATHS, create_price_row

PRODUCT_FIELDS = ("name", "description", "lookup_key", "kind", "fulfillment_type", "images", "features", "metadata",
                  "active")
BATCH_MAX_ROWS = 100  # page 267
LOOKUP_KEY_CONSTRAINT = "product_lookup_key_unique"


def _public(name: str, value):
    if name in ("description", "lookup_key"):
        return value or None
    if name in ("images", "features"):
        return list(value or [])
    if name == "metadata":
        return dict(value or {})
    return value


def apply_product_fields(product: Product, data: Mapping, prefix: str = "") -> tuple[dict, Errors]:
    """Sets the fields present in `data` on `product` (in memory). Returns ({field: previous public
    value} for what changed, errors)."""
    changes: dict = {}
    errors: Errors = {}
    for name in PRODUCT_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name == "metadata":
            value, errs = merge_metadata(product.metadata, value, join(prefix, "metadata"))
            errors.update(errs)
        elif name in ("description", "lookup_key"):
            value = (value or "").strip()
        elif name == "name":
            value = (value or "").strip()
            if not value:
                errors[join(prefix, "name")] = ["must not be blank"]
        old = getattr(product, name)
        if old != value:
            changes[name] = _public(name, old)
            setattr(product, name, value)
    return changes, errors


def _lookup_key_taken(tenant: Tenant, key: str, *, exclude: str | None = None) -> bool:
    qs = scoped(Product, tenant=tenant).filter(lookup_key=key)
    if exclude:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def _save_guarding_lookup_key(save, path: str = "lookup_key") -> None:
    try:
        with transaction.atomic():
            save()
    except IntegrityError as exc:
        if LOOKUP_KEY_CONSTRAINT in constraint_name(exc):
            raise invalid({path: ["is already used by another product"]})
        raise


def _reload(tenant: Tenant, product_id: str) -> Product:
    return selectors.product_get(tenant=tenant, product_id=product_id)


def _emit_change(tenant: Tenant, actor: Actor, product: Product, changes: dict, request_id: str) -> None:
    archived = changes.get("active") is True and product.active is False
    emit_event(tenant=tenant, type="product.archived" if archived else "product.updated",
               data=product_payload(product), actor=actor, previous_attributes=changes, request_id=request_id)


# --- create / update / archive / delete -----------------------------------------------------------
@transaction.atomic
def product_create(*, tenant: Tenant, actor: Actor, data: Mapping, default_price: Mapping | None = None,
                   request_id: str = "") -> Product:
    """Creates a product (page 266). `default_price` (the guide's `amountMinor`/`currency`/`interval`
    shortcut, already turned into price fields) creates its first price in the same transaction;
    its errors are reported under the shortcut's own names, together with the product's."""
    errors: Errors = {}
    if not (data.get("name") or "").strip():
        errors["name"] = ["is required"]
    if default_price is not None and default_price.get("type") == "recurring" and "kind" not in data:
        data = {**data, "kind": "subscription"}
    product = Product(merchant=tenant.merchant, livemode=tenant.livemode, metadata={})
    _, more = apply_product_fields(product, {k: v for k, v in data.items() if k != "name" or v}, "")
    errors.update(more)
    if product.lookup_key and _lookup_key_taken(tenant, product.lookup_key):
        errors["lookup_key"] = ["is already used by another product"]
    if default_price is not None:
        _, price_errors = clean_price(default_price)
        errors.update({PRICE_SHORTCUT_PATHS.get(path, path): reasons for path, reasons in price_errors.items()})
    if errors:
        raise invalid(errors)
    product.created_at = product.updated_at = now()
    _save_guarding_lookup_key(lambda: product.save(force_insert=True))
    price = None
    if default_price is not None:
        try:
            price = create_price_row(tenant=tenant, product=product, data=default_price)
        except ValidationFailed as exc:
            raise invalid({PRICE_SHORTCUT_PATHS.get(path, path): reasons for path, reasons in exc.fields.items()})
    product = _reload(tenant, product.pk)
    emit_event(tenant=tenant, type="product.created", data=product_payload(product), actor=actor, request_id=request_id)
    if price is not None:
        emit_event(tenant=tenant, type="price.created", data=price_payload(price), actor=actor, request_id=request_id)
    return product


@transaction.atomic
def product_update(*, tenant: Tenant, actor: Actor, product_id: str, data: Mapping, request_id: str = "") -> Product:
    """PATCH semantics (page 271): only the fields sent change; `active: false` archives the product
    (hidden from new purchases; existing subscriptions are untouched)."""
    locked = get_scoped(Product.objects.select_for_update(), tenant=tenant, pk=product_id, label="product")
    changes, errors = apply_product_fields(locked, data)
    if "lookup_key" in changes and locked.lookup_key and _lookup_key_taken(tenant, locked.lookup_key, exclude=locked.pk):
        errors["lookup_key"] = ["is already used by another product"]
    if errors:
        raise invalid(errors)
    if not changes:
        return _reload(tenant, locked.pk)
    locked.updated_at = now()
    _save_guarding_lookup_key(lambda: locked.save(update_fields=[*changes, "updated_at"]))
    product = _reload(tenant, locked.pk)
    _emit_change(tenant, actor, product, changes, request_id)
    return product


def product_archive(*, tenant: Tenant, actor: Actor, product_id: str, request_id: str = "") -> Product:
    return product_update(tenant=tenant, actor=actor, product_id=product_id, data={"active": False},
                          request_id=request_id)


@transaction.atomic
def product_delete(*, tenant: Tenant, actor: Actor, product_id: str, request_id: str = "") -> None:
    """Removes a product that was never sold, with its prices, external ids and benefit links (a
    typo, a test). A product that has been sold, or has a sold price, is archived instead: callers
    get BusinessRuleViolation (422) and should offer "archive"."""
    product = get_scoped(Product.objects.select_for_update(), tenant=tenant, pk=product_id, label="product")
    if product.has_been_sold or Price.objects.filter(product=product, has_been_sold=True).exists():
        raise BusinessRuleViolation("This product has been sold, so it can only be archived (active: false).",
                                    code="product_sold", param="id")
    payload = product_payload(_reload(tenant, product.pk))
    Price.objects.filter(product=product).delete()
    product.delete()
    emit_event(tenant=tenant, type="product.deleted", data={**payload, "deleted": True}, actor=actor,
               request_id=request_id)


def product_mark_sold(*, product: Product) -> None:
    """Called by later issues (checkout, invoices) when the product is first sold."""
    Product.objects.filter(pk=product.pk, has_been_sold=False).update(has_been_sold=True)
    product.has_been_sold = True


# --- upsert by external id ------------------------------------------------------------------------
@dataclass
class UpsertRow:
    index: int
    prefix: str  # "products[3]" in a batch, "" for the single upsert
    source: str = ""
    external_id: str = ""
    external_updated_at: datetime | None = None
    data: dict = field(default_factory=dict)
    errors: Errors = field(default_factory=dict)
    status: str = ""
    product: Product | None = None
    mapping: ProductExternalId | None = None
    changes: dict = field(default_factory=dict)

    def fail(self, name: str, reason: str) -> None:
        self.errors.setdefault(join(self.prefix, name), []).append(reason)

    def result(self) -> dict:
        cut = len(self.prefix) + 1 if self.prefix else 0
        errors = {("__all__" if p == self.prefix else p[cut:] if self.prefix and p.startswith(self.prefix + ".") else p): r
                  for p, r in self.errors.items()}
        applied = self.status in ("created", "updated", "unchanged", "stale") and self.product is not None
        return {"index": self.index, "status": self.status or "skipped",
                "id": self.product.pk if applied else None, "errors": errors or None}


class _RaceLost(Exception):
    pass


def _plan(tenant: Tenant, rows: list[UpsertRow]) -> None:
    """Decides each valid row's fate (bulk reads, rows locked in primary-key order); marks errors.
    Changes are applied to the product objects in memory only."""
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        if row.errors:
            continue
        key = (row.source, row.external_id)
        if key in seen:
            row.fail("external_id", f"duplicates products[{seen[key]}] ({row.source}/{row.external_id})")
        else:
            seen[key] = row.index
    live = [row for row in rows if not row.errors]
    if not live:
        return
    condition = Q()
    for row in live:
        condition |= Q(source=row.source, external_id=row.external_id)
    mappings = {(m.source, m.external_id): m for m in scoped(ProductExternalId, tenant=tenant).filter(condition)}
    locked = {p.pk: p for p in scoped(Product, tenant=tenant).filter(pk__in={m.product_id for m in mappings.values()})
              .select_for_update().order_by("pk")}
    for row in live:
        mapping = mappings.get((row.source, row.external_id))
        if mapping is None:
            if not (row.data.get("name") or "").strip():
                row.fail("name", "is required to create a product")
                continue
            product = Product(merchant=tenant.merchant, livemode=tenant.livemode, metadata={})
            _, errors = apply_product_fields(product, row.data, row.prefix)
            row.errors.update(errors)
            row.product, row.status = product, "created"
            continue
        product = locked.get(mapping.product_id)
        if product is None:
            raise _RaceLost()
        row.mapping, row.product = mapping, product
        if row.external_updated_at and mapping.external_updated_at and row.external_updated_at < mapping.external_updated_at:
            row.status = "stale"
            continue
        row.changes, errors = apply_product_fields(product, row.data, row.prefix)
        row.errors.update(errors)
        row.status = "updated" if row.changes else "unchanged"


def _apply(tenant: Tenant, actor: Actor, rows: list[UpsertRow], request_id: str) -> None:
    at = now()
    bumped = []
    try:
        with transaction.atomic():
            for row in rows:
                if row.status == "created":
                    row.product.created_at = row.product.updated_at = at
                    row.product.save(force_insert=True)
                    row.mapping = ProductExternalId.objects.create(
                        merchant=tenant.merchant, livemode=tenant.livemode, product=row.product, source=row.source,
                        external_id=row.external_id, external_updated_at=row.external_updated_at, created_at=at)
                elif row.status == "updated":
                    row.product.updated_at = at
                    row.product.save(update_fields=[*row.changes, "updated_at"])
                if row.status in ("updated", "unchanged") and row.external_updated_at and (
                        row.mapping.external_updated_at is None
                        or row.external_updated_at > row.mapping.external_updated_at):
                    row.mapping.external_updated_at = row.external_updated_at
                    bumped.append(row.mapping)
            if bumped:
                ProductExternalId.objects.bulk_update(bumped, ["external_updated_at"])
    except IntegrityError as exc:
        raise _RaceLost() from exc
    changed = [row for row in rows if row.status in ("created", "updated")]
    if not changed:
        return
    fresh = {p.pk: p for p in selectors.product_queryset(tenant).filter(pk__in=[row.product.pk for row in changed])}
    for row in changed:
        row.product = fresh[row.product.pk]
        if row.status == "created":
            emit_event(tenant=tenant, type="product.created", data=product_payload(row.product), actor=actor,
                       request_id=request_id)
        else:
            _emit_change(tenant, actor, row.product, row.changes, request_id)


def _run(tenant: Tenant, actor: Actor, make_rows, reject, request_id: str) -> UpsertOutcome:
    """Plans and applies in one transaction. A lost race with a concurrent upsert of the same ids
    is retried once from scratch (it then sees the other's committed rows), then answered 409."""
    for _attempt in range(2):
        try:
            with transaction.atomic():
                rows = make_rows()
                _plan(tenant, rows)
                if any(row.errors for row in rows):
                    for row in rows:
                        row.status = "error" if row.errors else "skipped"
                    raise reject(rows)
                _apply(tenant, actor, rows, request_id)
                return UpsertOutcome(rows)
        except _RaceLost:
            continue
    raise Conflict("Another request changed the same products at the same time; retry the request.")


def product_upsert_by_external_id(*, tenant: Tenant, actor: Actor, source: str, external_id: str, data: Mapping,
                                  external_updated_at: datetime | None = None,
                                  request_id: str = "") -> tuple[Product, str]:
    """Creates or updates the product known as `external_id` in `source` (page 268). Returns
    (product, status), status created | updated | unchanged | stale. `external_updated_at` is the
    source's last-modified time: an older one than last applied is ignored ("stale")."""

    def make_rows():
        return [UpsertRow(index=0, prefix="", source=source, external_id=external_id,
                          external_updated_at=external_updated_at, data=dict(data))]

    def reject(rows):
        return invalid(rows[0].errors)

    row = _run(tenant, actor, make_rows, reject, request_id).rows[0]
    return row.product, row.status


def product_batch_upsert(*, tenant: Tenant, actor: Actor, rows: list[dict], invalid_rows: Mapping[int, Errors] | None = None,
                         request_id: str = "") -> UpsertOutcome:
    """Creates or updates up to 100 products by external id in one transaction (page 267).

    `rows[i]` is {"source", "external_id", "external_updated_at", "data"} (type-checked by the caller);
    `invalid_rows` holds the input errors the caller already found (index → {"products[i].x": [...]}),
    so one answer reports every problem. If any row is wrong nothing is applied and BatchRejected
    lists the problems and per-row results; otherwise every row is applied. Unchanged rows emit
    nothing, so replaying a batch changes nothing.
    """
    invalid_rows = dict(invalid_rows or {})

    def make_rows():
        out = []
        for index, raw in enumerate(rows):
            row = UpsertRow(index=index, prefix=f"products[{index}]")
            if index in invalid_rows:
                row.errors = dict(invalid_rows[index])
            else:
                row.source, row.external_id = raw["source"], raw["external_id"]
                row.external_updated_at, row.data = raw.get("external_updated_at"), dict(raw.get("data") or {})
            out.append(row)
        return out

    def reject(parsed):
        fields: Errors = {}
        for row in parsed:
            fields.update(row.errors)
        bad = sum(1 for row in parsed if row.errors)
        return BatchRejected(f"{bad} of {len(parsed)} rows are invalid; nothing was applied. First problem: "
                             f"{first_message(fields)}", fields=fields, results=[row.result() for row in parsed])

    return _run(tenant, actor, make_rows, reject, request_id)
