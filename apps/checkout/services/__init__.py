"""Checkout writes, one module per area. Import as `from apps.checkout import services`.

- sessions.py   checkout sessions: create, totals, pay (the completion service), complete, expire
- links.py      payment links: create, status, closed reasons, views, starting a session
- express.py    returning customers: email codes, trusted devices, paying with a saved card
"""
from .links import (
    LinkItemInput,
    payment_link_closed_reason,
    payment_link_create,
    payment_link_record_view,
    payment_link_set_status,
    payment_link_start_session,
)
from .sessions import (
    ItemInput,
    PayOutcome,
    SessionClosed,
    checkout_session_complete_paid,
    checkout_session_create,
    checkout_session_expire,
    checkout_session_pay,
    checkout_session_refresh_totals,
    checkout_session_setup,
    checkout_sessions_expire_due,
    success_redirect_url,
)

__all__ = [
    "ItemInput",
    "LinkItemInput",
    "PayOutcome",
    "SessionClosed",
    "checkout_session_complete_paid",
    "checkout_session_create",
    "checkout_session_expire",
    "checkout_session_pay",
    "checkout_session_refresh_totals",
    "checkout_session_setup",
    "checkout_sessions_expire_due",
    "payment_link_closed_reason",
    "payment_link_create",
    "payment_link_record_view",
    "payment_link_set_status",
    "payment_link_start_session",
    "success_redirect_url",
]

# checkout appearance (C4)
from .settings import checkout_settings_for, checkout_settings_update  # noqa: E402

__all__ += ["checkout_settings_for", "checkout_settings_update"]

# The hosted page's changes to an open session (helper C2).
from .page import (  # noqa: E402
    PageConfig,
    checkout_page_config,
    checkout_page_update,
    checkout_session_touch,
)

__all__ += ["PageConfig", "checkout_page_config", "checkout_page_update", "checkout_session_touch"]

from .express import (  # noqa: E402
    CodeRequest,
    express_code_request,
    express_code_verify,
    express_customer_for,
    express_device_is_trusted,
    express_pay,
    express_saved_cards,
    express_trust_device,
    express_trusted_customer,
    trust_cookie_name,
)

__all__ += [
    "CodeRequest",
    "express_code_request",
    "express_code_verify",
    "express_customer_for",
    "express_device_is_trusted",
    "express_pay",
    "express_saved_cards",
    "express_trust_device",
    "express_trusted_customer",
    "trust_cookie_name",
]
