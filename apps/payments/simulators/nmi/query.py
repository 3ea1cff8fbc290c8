"""query.php: NMI's Query API (protocols.md §1.8), read-only, answered in NMI's XML.

    <?xml version="1.0" encoding="UTF-8"?>
    <nm_response>
      <transaction>
        <transaction_id>…</transaction_id> <transaction_type>cc</transaction_type> <condition>…</condition>
        <order_id>…</order_id> … <cc_number>4xxxxxxxxxxx1111</cc_number> … <currency>USD</currency>
        <action><amount>10.00</amount><action_type>sale</action_type><date>YYYYMMDDhhmmss</date>
                <success>1</success> … <batch_id>0</batch_id> … <response_code>100</response_code></action>
      </transaction>
    </nm_response>

Filters: transaction_id (comma list), order_id, condition (comma list), action_type (comma list; with a
date range, the matching actions must fall inside it), transaction_type, customer_vault_id,
start_date/end_date (YYYYMMDD or YYYYMMDDhhmmss, UTC), date_search=created|updated, result_limit,
page_number (0-based), result_order=standard|reverse, report_type=customer_vault. An empty result is
an empty `<nm_response>`; an error is `<nm_response><error_response>…</error_response></nm_response>`
with HTTP 200.

Simulator extensions (package docstring): `action_type=settle`, `chargeback`, `chargeback_reversal` and
`chargeback_lost` are accepted as filters (NMI documents sale, refund, credit, auth, capture, void, return;
settlements and chargebacks and their outcomes appear as actions all the same), and each transaction carries `<cc_funding>`,
`<cc_product>` and `<cc_issuer_country>`.
"""
from __future__ import annotations

from xml.etree import ElementTree as ET

from django.db.models import Prefetch, Q

from . import services, settlement
from .models import SimAccount, SimAction, SimTransaction
from .protocol import format_amount, format_date, new_refid, parse_date

DEFAULT_LIMIT = 1000


class QueryError(ValueError):
    pass


def handle(params: dict[str, str]) -> str:
    account = services.account_for_security_key(params.get("security_key", ""))
    if account is None:
        return _error("Invalid Username/Password")  # protocols.md §1.8 fixture
    settlement.close_due(account=account)
    try:
        report = params.get("report_type", "")
        if report == "customer_vault":
            return _vault_report(account, params)
        if report not in ("", "receipt"):
            raise QueryError(f"Unsupported report_type {report}")  # [GUESS]
        return _transactions_report(account, params)
    except QueryError as exc:
        return _error(str(exc))


def _error(text: str) -> str:
    root = ET.Element("nm_response")
    ET.SubElement(root, "error_response").text = f"{text} REFID:{new_refid()}"
    return _xml(root)


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _list(params: dict[str, str], name: str) -> list[str]:
    return [part.strip() for part in params.get(name, "").split(",") if part.strip()]


def _page(params: dict[str, str]) -> tuple[int, int]:
    try:
        limit = int(params.get("result_limit") or DEFAULT_LIMIT)
        page = int(params.get("page_number") or 0)
    except ValueError:
        raise QueryError("Invalid result_limit or page_number")  # [GUESS]
    return max(limit, 1), max(page, 0)


def select_transactions(account: SimAccount, params: dict[str, str]):
    """The filtered queryset, in the requested order (reads only)."""
    qs = account.transactions.select_related("original_transaction")
    if ids := _list(params, "transaction_id"):
        qs = qs.filter(transaction_id__in=ids)
    if params.get("order_id"):
        qs = qs.filter(orderid=params["order_id"])
    if conditions := _list(params, "condition"):
        qs = qs.filter(condition__in=conditions)
    if params.get("transaction_type") and params["transaction_type"] != "cc":
        qs = qs.none()  # the simulator only knows card transactions
    if params.get("customer_vault_id"):
        qs = qs.filter(customer_vault_id=params["customer_vault_id"])
    try:
        start = parse_date(params["start_date"]) if params.get("start_date") else None
        end = parse_date(params["end_date"], end=True) if params.get("end_date") else None
    except ValueError as exc:
        raise QueryError(str(exc))
    if action_types := _list(params, "action_type"):
        actions = Q(actions__action_type__in=action_types)
        if start:
            actions &= Q(actions__date__gte=start)
        if end:
            actions &= Q(actions__date__lte=end)
        qs = qs.filter(pk__in=SimTransaction.objects.filter(actions).values("pk"))
    else:
        column = "updated_at" if params.get("date_search") == "updated" else "created_at"
        if start:
            qs = qs.filter(**{f"{column}__gte": start})
        if end:
            qs = qs.filter(**{f"{column}__lte": end})
    order = "-" if params.get("result_order") == "reverse" else ""
    return qs.order_by(f"{order}created_at", f"{order}pk")


def _transactions_report(account: SimAccount, params: dict[str, str]) -> str:
    limit, page = _page(params)
    qs = select_transactions(account, params).prefetch_related(
        Prefetch("actions", queryset=SimAction.objects.select_related("batch").order_by("date", "pk")))
    root = ET.Element("nm_response")
    for txn in qs[page * limit:(page + 1) * limit]:
        _transaction_xml(root, txn)
    return _xml(root)


def _text(parent: ET.Element, name: str, value) -> ET.Element:
    element = ET.SubElement(parent, name)
    element.text = "" if value is None else str(value)
    return element


def _transaction_xml(root: ET.Element, txn: SimTransaction) -> None:
    t = ET.SubElement(root, "transaction")
    for name, value in (
        ("transaction_id", txn.transaction_id), ("partial_payment_id", ""), ("partial_payment_balance", ""),
        ("platform_id", ""), ("transaction_type", "cc"), ("condition", txn.condition), ("order_id", txn.orderid),
        ("authorization_code", txn.authcode), ("ponumber", txn.ponumber), ("order_description", txn.order_description),
        ("first_name", txn.first_name), ("last_name", txn.last_name), ("address_1", txn.address1), ("address_2", ""),
        ("company", ""), ("city", txn.city), ("state", txn.state), ("postal_code", txn.zip), ("country", txn.country),
        ("email", txn.email), ("phone", ""), ("fax", ""), ("cell_phone", ""), ("customertaxid", ""),
        ("customerid", txn.customer_vault_id), ("website", ""),
        ("original_transaction_id", txn.original_transaction.transaction_id if txn.original_transaction else ""),
        ("cc_number", txn.cc_number_masked), ("cc_hash", txn.cc_hash), ("cc_exp", txn.cc_exp), ("cavv", txn.cavv),
        ("cavv_result", ""), ("xid", txn.xid), ("eci", ""), ("directory_server_id", ""),
        ("three_ds_version", txn.three_ds_version), ("avs_response", txn.avsresponse),
        ("csc_response", txn.cvvresponse), ("cardholder_auth", txn.cardholder_auth), ("cc_start_date", ""),
        ("cc_issue_number", ""), ("check_account", ""), ("check_hash", ""), ("check_aba", ""), ("check_name", ""),
        ("account_holder_type", ""), ("account_type", ""), ("sec_code", ""), ("drivers_license_number", ""),
        ("drivers_license_state", ""), ("drivers_license_dob", ""), ("social_security_number", ""),
        ("processor_id", "simulator"), ("tax", "0.00"), ("currency", txn.currency), ("surcharge", ""), ("tip", ""),
        ("cc_bin", txn.cc_bin), ("cc_type", txn.cc_type),
        # simulator extensions
        ("cc_funding", txn.cc_funding), ("cc_product", "commercial" if txn.cc_commercial else "consumer"),
        ("cc_issuer_country", txn.cc_issuer_country),
    ):
        _text(t, name, value)
    for action in txn.actions.all():
        a = ET.SubElement(t, "action")
        for name, value in (
            ("amount", format_amount(action.amount_minor, txn.currency)), ("action_type", action.action_type),
            ("date", format_date(action.date)), ("success", "1" if action.success else "0"),
            ("ip_address", action.ip_address), ("source", action.source), ("api_method", ""), ("username", ""),
            ("response_text", action.response_text), ("batch_id", action.batch.batch_id if action.batch else "0"),
            ("processor_batch_id", action.batch.processor_batch_id if action.batch else ""),
            ("response_code", action.response_code), ("processor_response_text", action.response_text),
            ("processor_response_code", "00" if action.success else action.response_code),
            ("requested_amount", format_amount(action.amount_minor, txn.currency)),
            ("device_license_number", ""), ("device_nickname", ""),
        ):
            _text(a, name, value)
        if action.reason_code:
            _text(a, "reason_code", action.reason_code)  # simulator extension (chargebacks)


def _vault_report(account: SimAccount, params: dict[str, str]) -> str:
    limit, page = _page(params)
    qs = account.vault.order_by("created_at", "pk")
    if params.get("customer_vault_id"):
        qs = qs.filter(customer_vault_id=params["customer_vault_id"])
    root = ET.Element("nm_response")
    vault = ET.SubElement(root, "customer_vault")
    for customer in qs[page * limit:(page + 1) * limit]:
        c = ET.SubElement(vault, "customer", {"id": customer.customer_vault_id})
        for name, value in (
            ("customer_vault_id", customer.customer_vault_id), ("billing_id", customer.billing_id),
            ("first_name", customer.first_name), ("last_name", customer.last_name), ("address_1", customer.address1),
            ("address_2", customer.address2), ("company", customer.company), ("city", customer.city),
            ("state", customer.state), ("postal_code", customer.zip), ("country", customer.country),
            ("email", customer.email), ("phone", customer.phone), ("cc_number", customer.cc_number_masked),
            ("cc_hash", customer.cc_hash), ("cc_exp", customer.cc_exp), ("cc_bin", customer.cc_bin),
            ("cc_type", customer.cc_type), ("cc_funding", customer.cc_funding),
            ("cc_product", "commercial" if customer.cc_commercial else "consumer"),
            ("cc_issuer_country", customer.cc_issuer_country), ("created", format_date(customer.created_at)),
            ("updated", format_date(customer.updated_at)),
        ):
            _text(c, name, value)
    return _xml(root)
