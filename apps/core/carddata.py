"""Card data never enters our systems (PCI DSS scope, page 328): the browser sends card numbers only to the
gateway's tokenisation frame; we handle tokens. These checks find a card number where one must not be, so
the API can refuse it at the door and the gateway adapter can refuse to forward it.

A card number is a 13–19 digit run (spaces or dashes allowed between digits) that passes the Luhn check.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

# Keys that only ever carry raw card data (ours, NMI's Direct Post names, and the usual spellings).
CARD_DATA_KEYS = frozenset({
    "ccnumber", "card_number", "cardnumber", "pan", "cvv", "cvc", "cvv2", "cvc2", "security_code", "track_1",
    "track_2", "track1", "track2",
})
_PAN_CANDIDATE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def contains_card_number(value: str) -> bool:
    """True when the text holds a 13–19 digit sequence (spaces/dashes allowed) that passes the Luhn check."""
    for match in _PAN_CANDIDATE.finditer(str(value)):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def card_data_paths(payload, path: str = "") -> Iterator[str]:
    """The paths (`metadata.note`, `items[0].token`) in a decoded JSON or form payload that hold card data:
    a card-data key with a value, or any string or number holding a card number."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            where = f"{path}.{key}" if path else str(key)
            if str(key).lower() in CARD_DATA_KEYS and value not in (None, ""):
                yield where
            else:
                yield from card_data_paths(value, where)
    elif isinstance(payload, list | tuple):
        for index, value in enumerate(payload):
            yield from card_data_paths(value, f"{path}[{index}]")
    elif isinstance(payload, str | int) and not isinstance(payload, bool) and contains_card_number(str(payload)):
        yield path or "body"
