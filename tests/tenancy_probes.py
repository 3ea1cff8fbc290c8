"""The tenancy probe registry: one entry per /v2 operation (its reference operation id, e.g.
`customers_update`; routes outside ApiView use their route name).

tests/core/test_tenancy_probe.py fails for any /v2 operation — every method of every route — without
an entry here, then checks each entry: an object made for merchant A in sandbox is invisible (lists) or 404 (detail/action routes)
for merchant B's key and for A's own live key, while A's sandbox key still reaches it (the control,
so a probe that reaches nothing cannot pass). Each new app appends its routes.

Kinds:
- "list":   GET `path`; `make` creates a row; the row's id must not appear for the other keys.
- "detail": `method` on `path` with {id}; other keys get 404 resource_missing.
- "create": `method` (POST unless set) on `path` with `body` as A; the created id must be 404 for the
            other keys at `detail_path`. When `body` is a callable it refers to A's objects (a product
            id, say), and the other keys sending that same body must be refused (400 or 404).
- "public": no tenant data (the OpenAPI document, the reference page).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from apps.core.actors import Actor
from apps.core.events import emit_event
from apps.core.tenancy import Tenant


@dataclass
class Probe:
    kind: str
    path: str = ""
    make: Callable[[Tenant], str] | None = None
    method: str = ""  # GET for list/detail, POST for create unless set
    body: dict | Callable[[Tenant], dict] = field(default_factory=dict)
    detail_path: str = ""
    ok_status: int = 200
    id_from_response: Callable[[dict], str] = lambda body: body["data"]["id"]


def make_event(tenant: Tenant) -> str:
    return emit_event(tenant=tenant, type="probe.created", data={"id": "probe_1", "object": "probe"},
                      actor=Actor.system()).pk


PROBES: dict[str, Probe] = {
    "openapi": Probe("public"),
    "api-reference": Probe("public"),
    "events_list": Probe("list", path="/v2/events?limit=100", make=make_event),
    "events_get": Probe("detail", path="/v2/events/{id}", make=make_event),
    "events_create_test": Probe("create", path="/v2/events/test", body={"type": "probe.test"},
                                detail_path="/v2/events/{id}", ok_status=201),
}


def register(name: str, probe: Probe) -> None:
    assert name not in PROBES, f"duplicate probe {name}"
    PROBES[name] = probe
