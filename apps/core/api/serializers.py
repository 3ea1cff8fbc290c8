"""Serializer bases for request bodies. Unknown fields are a 400 (page 332), not silently dropped."""
from rest_framework import serializers


class StrictInputSerializer(serializers.Serializer):
    # Documented camelCase spellings accepted on input, mapped to our snake_case names.
    aliases: dict[str, str] = {}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = dict(data)
            for alias, name in self.aliases.items():
                if alias in data and name not in data:
                    data[name] = data.pop(alias)
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["unknown field"] for name in unknown})
        return super().to_internal_value(data)
