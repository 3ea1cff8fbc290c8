"""Template filters for the catalog pages; the wording lives in apps.catalog.display."""
from django import template

from apps.catalog import display

register = template.Library()

register.filter("price_summary", display.price_summary)
register.filter("prices_summary", display.prices_summary)
register.filter("price_kind", display.price_kind_label)
register.filter("discount_value", display.discount_value)
register.filter("discount_duration", display.discount_duration)
register.filter("redemptions", display.redemptions_text)
register.filter("percent", display.percent_text)


@register.filter
def money(amount_minor, currency):
    """{{ row.total_minor|money:row.currency }}"""
    return display.money(amount_minor, currency)


@register.filter
def discount_status(discount):
    return display.DISCOUNT_STATUSES[display.discount_status(discount)][0]


@register.filter
def discount_tone(discount):
    return display.DISCOUNT_STATUSES[display.discount_status(discount)][1]
