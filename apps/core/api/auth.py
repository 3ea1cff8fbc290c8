"""API-key authentication: `x-api-key: rk_sandbox_…` or `Authorization: Bearer rk_…`.

The key decides the merchant and the mode; every selector then scopes by `request.tenant`.
"""
from __future__ import annotations

from datetime import timedelta

from rest_framework import authentication, exceptions, permissions

from apps.accounts.models import ApiKey, hash_secret
from apps.core.clock import now
from apps.core.tenancy import Tenant

# last_used_at is refreshed at most this often, so a busy key does not write on every request.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def extract_key(request) -> str | None:
    key = request.META.get("HTTP_X_API_KEY")
    if key:
        return key.strip()
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        raw = extract_key(request)
        if raw is None:
            return None
        if not raw.startswith(("rk_live_", "rk_sandbox_")):
            raise exceptions.AuthenticationFailed("Malformed API key: keys start with rk_live_ or rk_sandbox_.")
        api_key = ApiKey.objects.select_related("merchant").filter(key_hash=hash_secret(raw)).first()
        if api_key is None or api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        current = now()
        if api_key.last_used_at is None or api_key.last_used_at < current - LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=current)
            api_key.last_used_at = current
        request.api_key = api_key
        request.tenant = Tenant(merchant=api_key.merchant, livemode=api_key.livemode)
        return (None, api_key)

    def authenticate_header(self, request):
        return 'Bearer realm="revkeen"'


class HasApiKey(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, ApiKey)
