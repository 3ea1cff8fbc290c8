"""Our decline codes: the numbers, messages and classes of pages 025 (Payments and Refunds) and 023 (Dunning).

These are RevKeen's codes, shown to merchants and API users as `decline_code`. They are not NMI's
`response_code` values (NMI 202 is "insufficient funds", ours 202 is an expired card): each adapter maps
its gateway's answers onto this table (nmi.py, NMI_DECLINE_MAP).

`category` is the page-025 row; `retry` is the page-023 class (DECISIONS.md): hard = do not retry, soft =
retry on the dunning schedule, action_required = ask the customer to update the card. 304 and 531
appear only on page 023; their messages are ours, in the page's voice.
"""
from __future__ import annotations

from dataclasses import dataclass

HARD, SOFT, ACTION_REQUIRED = "hard", "soft", "action_required"


@dataclass(frozen=True)
class DeclineCode:
    code: str
    category: str
    retry: str
    message: str


DECLINE_CODES: dict[str, DeclineCode] = {d.code: d for d in (
    DeclineCode("200", "card_declined", HARD, "Card declined. Please contact your bank."),
    DeclineCode("204", "card_declined", HARD, "Card declined: the issuer does not allow this payment. "
                                             "Please use a different card."),
    DeclineCode("300", "insufficient_funds", SOFT, "Insufficient funds. Please try a different card."),
    DeclineCode("301", "insufficient_funds", SOFT, "Insufficient funds. Please try a different card or try again "
                                                  "later."),
    DeclineCode("303", "invalid_card", HARD, "Invalid card number. Please re-enter the card details."),
    DeclineCode("530", "invalid_card", HARD, "Invalid card. Please re-enter the card details."),
    DeclineCode("202", "expired_card", ACTION_REQUIRED, "Card expired or expiry date invalid. Please update the card "
                                                        "information."),
    DeclineCode("223", "expired_card", ACTION_REQUIRED, "Expired card. Please update the card information."),
    DeclineCode("225", "cvv_mismatch", ACTION_REQUIRED, "CVV mismatch. Please re-enter the card security code."),
    DeclineCode("402", "limit_exceeded", SOFT, "Card limit exceeded. Please try a smaller amount or a different "
                                              "card."),
    DeclineCode("521", "limit_exceeded", SOFT, "Card limit exceeded. Please try a smaller amount, a different card "
                                              "or try again later."),
    DeclineCode("304", "try_again_later", SOFT, "Payment declined for now. Please try again later."),
    DeclineCode("531", "card_declined", HARD, "Card declined. Please use a different card."),
)}


def decline(code: str) -> DeclineCode:
    return DECLINE_CODES[code]
