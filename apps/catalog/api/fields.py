"""Input fields shared by the catalog's API serializers."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.money import CurrencyError, normalize_currency

from ..validation import clean_metadata

# Largest amount a price or discount may carry: 10^12 minor units (ten billion dollars).
MAX_AMOUNT_MINOR = 10**12

METADATA_HELP = ("String keys to string values (at most 50 keys, 500 characters a value). On update keys are "
                 "merged: a key sent as \"\" or null is removed; `metadata: null` clears all.")


class IndexedListField(serializers.ListField):
    """A ListField whose item errors read `images[1]` (like nested serializers), not `images.1`: DRF
    reports a ListField's item errors as {index: errors}, which the envelope's flattener renders as
    a dotted key."""

    def run_child_validation(self, data):
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict) and all(isinstance(k, int) for k in exc.detail):
                raise serializers.ValidationError([exc.detail.get(i, []) for i in range(len(data))])
            raise


class IndexedListSerializer(serializers.ListSerializer):
    """`many=True` nested input whose item errors read `tiers[2].up_to`: DRF ≥ 3.16 reports them as
    {index: errors}, which apps.core.api.errors.flatten_validation renders as `tiers.2.up_to`."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict) and exc.detail and all(isinstance(k, int) for k in exc.detail):
                raise serializers.ValidationError([exc.detail.get(i, {}) for i in range(len(data))])
            raise


class CurrencyField(serializers.CharField):
    """An ISO 4217 code, upper-cased ('usd' → 'USD'); anything else is a 400."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "ISO 4217 currency code, e.g. USD")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        try:
            return normalize_currency(value)
        except CurrencyError:
            raise serializers.ValidationError("must be an ISO 4217 currency code, e.g. USD")


def amount_field(**kwargs) -> serializers.IntegerField:
    """A count of minor units: an integer, not negative, at most 10^12."""
    kwargs.setdefault("min_value", 0)
    kwargs.setdefault("max_value", MAX_AMOUNT_MINOR)
    return serializers.IntegerField(**kwargs)


@extend_schema_field(OpenApiTypes.OBJECT)
class MetadataField(serializers.Field):
    """A metadata patch: {key: "value" | "" | null}; null for the whole field clears all."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("help_text", METADATA_HELP)
        super().__init__(**kwargs)

    def validate_empty_values(self, data):
        if data is None or data == "":
            return True, None
        return super().validate_empty_values(data)

    def to_internal_value(self, data):
        value, errors = clean_metadata(data, prefix="")
        if "" in errors:
            raise serializers.ValidationError(errors[""])
        if errors:
            # Paths come back as ".key"; nested under the field they read "metadata.key".
            raise serializers.ValidationError({path.lstrip("."): reasons for path, reasons in errors.items()})
        return value

    def to_representation(self, value):
        return value


class QueryBoolean(serializers.BooleanField):
    """true/false/1/0 in a query string; anything else is a 400."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("default", None)
        super().__init__(**kwargs)


def list_params():
    from drf_spectacular.utils import OpenApiParameter

    return [OpenApiParameter("limit", int, description="1–100, default 25"), OpenApiParameter("offset", int),
            OpenApiParameter("starting_after", str), OpenApiParameter("ending_before", str)]


def request_id(request) -> str:
    return getattr(request._request, "request_id", "")


class AliasedQuery(serializers.Serializer):
    """Query-string filters with camelCase aliases (isActive → active). Unknown parameters are ignored
    (pagination and cursors share the query string)."""

    aliases: dict[str, str] = {}

    def __init__(self, *args, data=None, **kwargs):
        if data is not None:
            data = {key: data.get(key) for key in data}
            for alias, name in self.aliases.items():
                if alias in data and name not in data:
                    data[name] = data.pop(alias)
        super().__init__(*args, data=data, **kwargs)
