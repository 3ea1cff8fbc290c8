"""The simulator's test cards and the sandbox test tokens: one table, so the README and the API docs are
generated from it (`cards_markdown()`, `tokens_markdown()`).

A card number is resolved once, when the simulator first sees it (Collect.js tokenisation, a vault add
or a direct `ccnumber` sale), into a `CardProfile`: brand, funding, consumer/commercial, issuing
country and what the "issuer" answers. Only the profile, the BIN, the last four digits and a hash are
kept afterwards — never the full number or the CVV (see the package docstring).

Sources: NMI's documented test cards ("Testing Information", nmi-payment-api.txt; 3-D Secure cards
from docs.nmi.com, protocols.md §1.5). Everything else here is ours and marked `source="simulator"`:
the region/funding cards (the ISO 3166 numeric country code is visible in the number: 826 GB,
276 DE, 250 FR, 840 US) and one decline card per RevKeen decline code (the code is visible in the
number: 4000 0000 0000 <code><check digit>).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

# What the "issuer" does with an authorisation on this card.
APPROVE = "approve"
DECLINE = "decline"
THREE_DS_CHALLENGE = "3ds_challenge"  # needs cardholder authentication (challenge page) first
THREE_DS_FRICTIONLESS = "3ds_frictionless"  # authenticated without a challenge: approves
THREE_DS_BYPASSED = "3ds_bypassed"  # 3-D Secure not available: approves, no liability shift


@dataclass(frozen=True)
class Decline:
    """The NMI answer for a declined authorisation: `response=2&responsetext=<text>&response_code=<code>`."""

    response_code: str
    responsetext: str
    # The RevKeen decline code (pages 023/025) our adapter maps this answer to; documentation only:
    # the simulator never reads it, and tests check that the adapter's mapping agrees.
    revkeen_code: str


@dataclass(frozen=True)
class SimCard:
    key: str
    number: str
    brand: str  # visa | mastercard | amex | discover | diners | jcb | maestro
    funding: str  # credit | debit | prepaid
    country: str  # issuing country, ISO 3166 alpha-2
    commercial: bool = False
    behaviour: str = APPROVE
    decline: Decline | None = None
    cvv_result: str = ""  # forces the CVV answer (else NMI's test rule: 999 → M, other → N)
    description: str = ""
    source: str = "simulator"  # "nmi" for NMI's own documented cards
    tokens: tuple[str, ...] = field(default=())

    @property
    def bin(self) -> str:
        return self.number[:6]

    @property
    def last4(self) -> str:
        return self.number[-4:]


def _decline_card(revkeen_code: str, number: str, nmi_code: str, text: str, description: str,
                  cvv_result: str = "") -> SimCard:
    return SimCard(key=f"decline_{revkeen_code}", number=number, brand="visa", funding="credit", country="US",
                    behaviour=DECLINE, decline=Decline(nmi_code, text, revkeen_code), cvv_result=cvv_result,
                    description=description, tokens=(f"tok_decline_{revkeen_code}",))


TEST_CARDS: tuple[SimCard, ...] = (
    # --- NMI's documented test cards (approve in test mode) -----------------------------------------
    SimCard("visa", "4111111111111111", "visa", "credit", "US", source="nmi", tokens=("tok_visa",),
             description="Visa consumer credit, US"),
    SimCard("mastercard", "5431111111111111", "mastercard", "credit", "US", source="nmi", tokens=("tok_mastercard",),
             description="Mastercard consumer credit, US"),
    SimCard("amex", "341111111111111", "amex", "credit", "US", source="nmi", tokens=("tok_amex",),
             description="American Express credit, US"),
    SimCard("discover", "6011000991300009", "discover", "credit", "US", source="nmi", tokens=("tok_discover",),
             description="Discover credit, US"),
    SimCard("discover_2", "6011601160116611", "discover", "credit", "US", source="nmi",
             description="Discover credit, US (second NMI test number)"),
    SimCard("diners", "30205252489926", "diners", "credit", "US", source="nmi", description="Diners Club, US"),
    SimCard("jcb", "3541963594572595", "jcb", "credit", "JP", source="nmi", description="JCB, Japan"),
    SimCard("maestro", "6799990100000000019", "maestro", "debit", "GB", source="nmi", description="Maestro debit, GB"),
    # --- brand / funding / issuing region (fees depend on them) ---------------------------------------
    SimCard("visa_debit_gb", "4000018260000009", "visa", "debit", "GB", tokens=("tok_visa_debit_gb",),
             description="Visa consumer debit, GB"),
    SimCard("visa_credit_gb", "4000028260000008", "visa", "credit", "GB", tokens=("tok_visa_credit_gb",),
             description="Visa consumer credit, GB"),
    SimCard("visa_prepaid_gb", "4000038260000007", "visa", "prepaid", "GB", tokens=("tok_visa_prepaid_gb",),
             description="Visa prepaid, GB"),
    SimCard("mastercard_debit_gb", "5200018260000004", "mastercard", "debit", "GB",
             tokens=("tok_mastercard_debit_gb",), description="Mastercard consumer debit, GB"),
    SimCard("mastercard_commercial_gb", "5500048260000008", "mastercard", "credit", "GB", commercial=True,
             tokens=("tok_mastercard_commercial",), description="Mastercard commercial (corporate) credit, GB"),
    SimCard("visa_credit_de", "4000022760000006", "visa", "credit", "DE", tokens=("tok_visa_credit_de",),
             description="Visa consumer credit, DE (EEA)"),
    SimCard("visa_debit_fr", "4000012500000002", "visa", "debit", "FR", tokens=("tok_visa_debit_fr",),
             description="Visa consumer debit, FR (EEA)"),
    SimCard("mastercard_credit_de", "5200022760000001", "mastercard", "credit", "DE",
             tokens=("tok_mastercard_credit_de",), description="Mastercard consumer credit, DE (EEA)"),
    SimCard("visa_commercial_us", "4000048400000007", "visa", "credit", "US", commercial=True,
             tokens=("tok_visa_commercial_us",), description="Visa commercial (corporate) credit, US"),
    SimCard("mastercard_prepaid_us", "5200038400000003", "mastercard", "prepaid", "US",
             tokens=("tok_mastercard_prepaid_us",), description="Mastercard prepaid, US"),
    SimCard("amex_gb", "340000826000001", "amex", "credit", "GB", tokens=("tok_amex_gb",),
             description="American Express credit, GB"),
    # --- 3-D Secure (NMI's documented 3DS test cards) -------------------------------------------------
    SimCard("visa_3ds_challenge", "4100000000005000", "visa", "credit", "US", behaviour=THREE_DS_CHALLENGE,
             source="nmi", tokens=("tok_3ds",),
             description="3-D Secure challenge: the sale waits for the challenge page (Complete / Fail)"),
    SimCard("mastercard_3ds_challenge", "5100000000005007", "mastercard", "credit", "US",
             behaviour=THREE_DS_CHALLENGE, source="nmi", tokens=("tok_3ds_mastercard",),
             description="3-D Secure challenge (Mastercard)"),
    SimCard("visa_3ds_frictionless", "4100000000000100", "visa", "credit", "US", behaviour=THREE_DS_FRICTIONLESS,
             source="nmi", tokens=("tok_3ds_frictionless",), description="3-D Secure frictionless: approves"),
    SimCard("mastercard_3ds_frictionless", "5100000000000107", "mastercard", "credit", "US",
             behaviour=THREE_DS_FRICTIONLESS, source="nmi", description="3-D Secure frictionless (Mastercard)"),
    SimCard("visa_3ds_bypassed", "4100000000300005", "visa", "credit", "US", behaviour=THREE_DS_BYPASSED,
             source="nmi", description="3-D Secure bypassed: approves without authentication"),
    # --- one card per RevKeen decline code (pages 023 and 025) -------------------------------------------
    _decline_card("200", "4000000000002008", "200", "DECLINE", "Generic decline by the processor"),
    _decline_card("202", "4000000000002024", "224", "Invalid expiration date", "Expiry date rejected"),
    _decline_card("204", "4000000000002040", "204", "Transaction not allowed", "Issuer does not allow the transaction"),
    _decline_card("223", "4000000000002230", "223", "Expired card", "Expired card"),
    _decline_card("225", "4000000000002255", "225", "Invalid card security code", "CVV mismatch",
                  cvv_result="N"),
    _decline_card("300", "4000000000003006", "202", "Insufficient funds", "Insufficient funds"),
    _decline_card("301", "4000000000003014", "260", "Insufficient funds - try again later",
                  "Insufficient funds (soft, with instructions)"),
    _decline_card("303", "4000000000003030", "220", "Incorrect payment information", "Invalid card number"),
    _decline_card("304", "4000000000003048", "264", "Retry in a few days", "Temporary decline"),
    _decline_card("402", "4000000000004020", "203", "Over limit", "Card limit exceeded"),
    _decline_card("521", "4000000000005217", "260", "Exceeds withdrawal frequency limit",
                  "Card limit exceeded (frequency)"),
    _decline_card("530", "4000000000005308", "221", "No such card issuer", "Invalid card (unknown issuer)"),
    _decline_card("531", "4000000000005316", "250", "Pick up card", "Card must not be used (pick up)"),
)

CARDS_BY_NUMBER: dict[str, SimCard] = {card.number: card for card in TEST_CARDS}
CARDS_BY_KEY: dict[str, SimCard] = {card.key: card for card in TEST_CARDS}

# Sandbox test tokens: accepted as `payment_token` by the simulator directly; never expire, reusable.
# The Collect.js sandbox test token (protocols.md §1.5) stands for NMI's Visa test card.
COLLECTJS_TEST_TOKEN = "00000000-000000-000000-000000000000"
TEST_TOKENS: dict[str, SimCard] = {token: card for card in TEST_CARDS for token in card.tokens}
TEST_TOKENS[COLLECTJS_TEST_TOKEN] = CARDS_BY_KEY["visa"]
DECLINE_TOKENS: dict[str, SimCard] = {f"tok_decline_{card.decline.revkeen_code}": card
                                       for card in TEST_CARDS if card.decline}

# Amount triggers (sale/auth only), NMI test mode (protocols.md §1.5): an amount below 1.00 declines
# with `response=2&responsetext=DECLINE&response_code=200`. Simulator extension: the cents pick the
# code, 0.XX → NMI response code 2XX when that code exists (0.02 → 202 insufficient funds, 0.51 → 251
# lost card, 0.64 → 264 retry later), so dunning tests can pick a decline by amount.
NMI_DECLINE_TEXTS: dict[str, str] = {
    "200": "DECLINE", "201": "Do not honor", "202": "Insufficient funds", "203": "Over limit",
    "204": "Transaction not allowed", "220": "Incorrect payment information", "221": "No such card issuer",
    "222": "No card number on file with issuer", "223": "Expired card", "224": "Invalid expiration date",
    "225": "Invalid card security code", "226": "Invalid PIN", "240": "Call issuer for further information",
    "250": "Pick up card", "251": "Lost card", "252": "Stolen card", "253": "Fraudulent card",
    "260": "Declined with further instructions available", "261": "Declined-Stop all recurring payments",
    "262": "Declined-Stop this recurring program", "263": "Declined-Update cardholder data available",
    "264": "Declined-Retry in a few days",
}


def amount_trigger(amount_minor: int, exponent: int) -> tuple[str, str] | None:
    """(response_code, responsetext) for an amount below 1.00 of the currency, else None."""
    one = 10 ** exponent
    if amount_minor <= 0 or amount_minor >= one:
        return None
    cents = amount_minor * 100 // one
    code = f"2{cents:02d}"
    return (code, NMI_DECLINE_TEXTS[code]) if code in NMI_DECLINE_TEXTS else ("200", "DECLINE")


# --- resolving a number ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CardProfile:
    """What the simulator keeps about a card: never the full number."""

    key: str  # a TEST_CARDS key, or "" for a valid number that is not in the table
    brand: str
    funding: str
    country: str
    commercial: bool
    bin: str
    last4: str
    hash: str

    @property
    def card(self) -> SimCard | None:
        return CARDS_BY_KEY.get(self.key)

    @property
    def masked(self) -> str:
        """NMI Query API style: first digit, x's, last four ("4xxxxxxxxxxx1111")."""
        return self.bin[0] + "x" * 11 + self.last4

    @property
    def masked_collectjs(self) -> str:
        """Collect.js callback style: BIN, stars, last four ("411111******1111")."""
        return f"{self.bin}******{self.last4}"


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    """Brand by IIN range (for numbers outside the table)."""
    two, four = int(number[:2]), int(number[:4])
    if number.startswith("4"):
        return "visa"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if two in (34, 37):
        return "amex"
    if number.startswith("6011") or number.startswith("65") or 644 <= int(number[:3]) <= 649:
        return "discover"
    if two in (30, 36, 38, 39):
        return "diners"
    if two == 35:
        return "jcb"
    if two in (50, 56, 57, 58) or number.startswith("6"):
        return "maestro"
    return "unknown"


def card_hash(number: str) -> str:
    """A stable fingerprint of the number (NMI's Query API shows an MD5 `cc_hash`; ours is SHA-256)."""
    return hashlib.sha256(f"nmi-sim:{number}".encode()).hexdigest()[:32]


def resolve(number: str) -> CardProfile | None:
    """The profile of a card number, or None when it is not a card number (NMI: 'Invalid Credit Card Number')."""
    number = "".join(number.split()).replace("-", "")
    card = CARDS_BY_NUMBER.get(number)
    if card is None and not luhn_valid(number):
        return None
    if card is not None:
        return CardProfile(card.key, card.brand, card.funding, card.country, card.commercial, card.bin, card.last4,
                           card_hash(number))
    # NMI test mode approves every valid card; outside the table we call it a US consumer credit card.
    return CardProfile("", brand_of(number), "credit", "US", False, number[:6], number[-4:], card_hash(number))


def profile_of_token(token: str) -> CardProfile | None:
    """The profile behind a sandbox test token (`tok_visa`, …), or None."""
    card = TEST_TOKENS.get(token)
    return resolve(card.number) if card else None


def outcome_of(profile: CardProfile) -> tuple[str, Decline | None]:
    card = profile.card
    if card is None:
        return APPROVE, None
    return card.behaviour, card.decline


# --- documentation ----------------------------------------------------------------------------------------
def tokens_markdown() -> str:
    """The sandbox test-token table for the README and the API docs."""
    rows = ["| token | card | brand | funding | country | outcome |", "|---|---|---|---|---|---|"]
    for token, card in TEST_TOKENS.items():
        if token == COLLECTJS_TEST_TOKEN:
            continue
        rows.append(f"| `{token}` | {card.number} | {card.brand} | {_funding_label(card)} | {card.country} | "
                    f"{_outcome_label(card)} |")
    return "\n".join(rows)


def cards_markdown() -> str:
    rows = ["| number | brand | funding | country | outcome | source |", "|---|---|---|---|---|---|"]
    for card in TEST_CARDS:
        rows.append(f"| {card.number} | {card.brand} | {_funding_label(card)} | {card.country} | "
                    f"{_outcome_label(card)} | {card.source} |")
    return "\n".join(rows)


def _funding_label(card: SimCard) -> str:
    return f"commercial {card.funding}" if card.commercial else card.funding


def _outcome_label(card: SimCard) -> str:
    if card.decline:
        d = card.decline
        return (f"declined: decline_code {d.revkeen_code} (NMI response_code {d.response_code} "
                f"\"{d.responsetext}\")")
    return {APPROVE: "approved", THREE_DS_CHALLENGE: "requires_action: 3-D Secure challenge, then approved "
            "(Complete) or declined (Fail)", THREE_DS_FRICTIONLESS: "approved (3-D Secure frictionless)",
            THREE_DS_BYPASSED: "approved (3-D Secure bypassed)"}[card.behaviour]
