"""Cross-merchant and cross-mode access for every /v2 route (ARCHITECTURE.md rule 3)."""
import importlib
import pkgutil

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

import tests
from apps.core.tenancy import Tenant as CoreTenant
from tests.tenancy_probes import PROBES

# Apps add their probes in tests/<app>/probes.py (imported here so the registry is complete).
for module in pkgutil.iter_modules(tests.__path__):
    if module.ispkg:
        try:
            importlib.import_module(f"tests.{module.name}.probes")
        except ModuleNotFoundError as exc:
            if exc.name != f"tests.{module.name}.probes":
                raise


def v2_operation_ids() -> set[str]:
    """Every method of every /v2 route, by its operation id (ApiView.operation_ids)."""
    names: set[str] = set()

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("v2/") and pattern.name != "api_not_found":
                view_class = getattr(pattern.callback, "view_class", None)
                operation_ids = getattr(view_class, "operation_ids", None)
                if operation_ids:
                    handlers = {m for m in view_class.http_method_names if m != "options" and hasattr(view_class, m)}
                    unnamed = handlers - set(operation_ids)
                    assert not unnamed, f"{route}: methods without an operation id: {sorted(unnamed)}"
                    names.update(operation_ids.values())
                else:
                    names.add(pattern.name or route)

    walk(get_resolver().url_patterns, "")
    return names


def test_every_v2_operation_has_a_tenancy_probe():
    operations = v2_operation_ids()
    missing = sorted(operations - set(PROBES))
    assert not missing, f"/v2 operations without a tenancy probe in tests/*/probes.py: {missing}"
    stale = sorted(set(PROBES) - operations)
    assert not stale, f"probes for operations that no longer exist: {stale}"


def _call(client, method, path, body):
    return getattr(client, method.lower())(path, body if method != "GET" else None, format="json") \
        if method != "GET" else client.get(path)


@pytest.mark.parametrize("name", sorted(name for name, probe in PROBES.items() if probe.kind != "public"))
def test_route_is_tenant_scoped(name, tenant, other_tenant):
    probe = PROBES[name]
    owner = CoreTenant(tenant.merchant, livemode=False)
    intruders = {"other merchant": other_tenant.client(), "same merchant, live key": tenant.client(live=True)}
    body = probe.body(owner) if callable(probe.body) else probe.body
    method = probe.method or ("POST" if probe.kind == "create" else "GET")

    if probe.kind == "list":
        object_id = probe.make(owner)
        for label, client in intruders.items():
            response = client.get(probe.path)
            assert response.status_code == 200, (label, response.content)
            assert object_id not in response.content.decode(), f"{name}: {label} sees {object_id}"
        assert object_id in tenant.client().get(probe.path).content.decode(), "control: owner must see it"
    elif probe.kind == "detail":
        object_id = probe.make(owner)
        path = probe.path.format(id=object_id)
        for label, client in intruders.items():
            response = _call(client, method, path, body)
            assert response.status_code == 404, (name, label, response.status_code, response.content)
            assert response.json()["error"]["code"] == "resource_missing"
        response = _call(tenant.client(), method, path, body)
        assert response.status_code == probe.ok_status, ("control", response.content)
    elif probe.kind == "create":
        if callable(probe.body):
            for label, client in intruders.items():
                response = _call(client, method, probe.path, body)
                assert response.status_code in (400, 404), (name, label, response.status_code, response.content)
        response = _call(tenant.client(), method, probe.path, body)
        assert response.status_code == probe.ok_status, response.content
        object_id = probe.id_from_response(response.json())
        detail = probe.detail_path.format(id=object_id)
        for label, client in intruders.items():
            assert client.get(detail).status_code == 404, (name, label)
        assert tenant.client().get(detail).status_code == 200
    else:
        raise AssertionError(f"unknown probe kind {probe.kind}")
