"""The simulator's HTTP surface: NMI's endpoints, the tokeniser, the 3-D Secure page and the control plane."""
from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt

from . import cards, chargebacks, conf, faults, query, services, settlement, transact, webhooks
from .models import SimAccount, SimFault, SimRequest, SimTransaction
from .protocol import encode_reply, format_amount, parse_amount

log = logging.getLogger(__name__)
SENSITIVE = {"ccnumber", "cvv", "checkaccount", "checkaba", "track_1", "track_2", "track_3", "ccexp"}


# --- helpers ---------------------------------------------------------------------------------------------------
def _params(request: HttpRequest) -> dict[str, str]:
    params = {key: request.GET.get(key, "") for key in request.GET}
    if request.method == "POST":
        params.update({key: request.POST.get(key, "") for key in request.POST})
    return params


def public_base(request: HttpRequest) -> str:
    """The browser-facing base URL of the simulator (…/_sim/nmi), for Collect.js frames and challenge pages."""
    configured = conf.get("NMI_SIM_PUBLIC_URL")
    return configured.rstrip("/") if configured else request.build_absolute_uri(reverse("nmi_sim:index")).rstrip("/")


def masked_params(params: dict[str, str]) -> dict[str, str]:
    """What the request log keeps: card fields masked, keys redacted."""
    masked = {}
    for key, value in params.items():
        if key == "security_key":
            masked[key] = "[redacted]"
        elif key in SENSITIVE or cards.luhn_valid("".join(value.split())):
            masked[key] = ("x" * max(len(value) - 4, 0) + value[-4:]) if key == "ccnumber" else "[redacted]"
        else:
            masked[key] = value
    return masked


def _log(endpoint: str, params: dict[str, str], *, account: SimAccount | None = None, status: int = 200,
         reply: str = "", refid: str = "", fault: SimFault | None = None) -> None:
    if account is None:
        account = SimAccount.objects.filter(security_key=params.get("security_key", "") or None).first()
    SimRequest.objects.create(account=account, endpoint=endpoint, params=masked_params(params), http_status=status,
                              reply=reply[:5000], refid=refid, fault=fault.kind if fault else "")


def _drop_connection(request: HttpRequest) -> bool:
    """Asks the simulator's own server (server.py) to reset this TCP connection. False under other servers."""
    control = request.META.get("nmi_sim.control")
    if control is None:
        return False
    control["abort"] = True
    return True


def _hang_seconds(fault: SimFault) -> float:
    return fault.hang_ms / 1000 if fault.hang_ms else float(conf.get("NMI_SIM_FAULT_HANG_SECONDS"))


def _fault_before(request: HttpRequest, endpoint: str, params: dict[str, str]) -> tuple[SimFault | None,
                                                                                        HttpResponse | None]:
    """Applies a fault that strikes before processing; returns (fault, response to send instead or None)."""
    fault = faults.take(endpoint, params)
    if fault is None:
        return None, None
    if fault.kind == "latency":
        time.sleep(fault.latency_ms / 1000)
        return fault, None
    if fault.kind == "error_5xx_before_charge":
        response = HttpResponse("", status=fault.status_code or 503, content_type="text/html")
    elif fault.kind == "http_429":
        response = HttpResponse("Too Many Requests", status=429, content_type="text/html")
    elif fault.kind == "rate_limit":
        # Payment API, "Rate Limits": response=3&responsetext=Rate limit exceeded&…&response_code=301
        response = HttpResponse(encode_reply({"response": "3", "responsetext": "Rate limit exceeded",
                                              "response_code": "301"}), content_type="text/html; charset=UTF-8")
    elif fault.kind == "connection_reset":
        response = HttpResponse("", status=200) if _drop_connection(request) else HttpResponse("", status=502)
    else:  # after-charge kinds act later
        return fault, None
    _log(endpoint, params, status=response.status_code, fault=fault)
    return fault, response


def _fault_after(request: HttpRequest, fault: SimFault | None) -> None:
    """After processing (the ledger is committed): hold the answer, or drop the connection."""
    if fault is None:
        return
    if fault.kind == "drop_after_charge" and _drop_connection(request):
        return
    if fault.kind in ("timeout_after_charge", "drop_after_charge"):
        time.sleep(_hang_seconds(fault))


# --- NMI endpoints ---------------------------------------------------------------------------------------------
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "nmi_sim/index.html", {"base": public_base(request), "cards": cards.TEST_CARDS,
                                                  "tokens": cards.TEST_TOKENS})


@csrf_exempt
def transact_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    params = _params(request)
    fault, early = _fault_before(request, "transact", params)
    if early is not None:
        return early
    result = transact.handle(params, public_base=public_base(request), ip=request.META.get("REMOTE_ADDR", ""))
    body = encode_reply(result.fields)
    _log("transact", params, account=result.account, reply=body, refid=result.refid, fault=fault)
    _fault_after(request, fault)
    # NMI answers HTTP 200 text/html with a query string body, even for errors (protocols.md §1.1).
    return HttpResponse(body, content_type="text/html; charset=UTF-8")


@csrf_exempt
def query_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    params = _params(request)
    fault, early = _fault_before(request, "query", params)
    if early is not None:
        return early
    body = query.handle(params)
    _log("query", params, fault=fault)
    _fault_after(request, fault)
    return HttpResponse(body, content_type="text/xml; charset=UTF-8")


# --- Collect.js ------------------------------------------------------------------------------------------------
def collect_js(request: HttpRequest) -> HttpResponse:
    response = render(request, "nmi_sim/collect.js", {"base": public_base(request)},
                      content_type="application/javascript; charset=UTF-8")
    response["Cache-Control"] = "no-store"
    return response


@xframe_options_exempt
def token_frame(request: HttpRequest) -> HttpResponse:
    field = request.GET.get("field", "ccnumber")
    if field not in ("ccnumber", "ccexp", "cvv"):
        field = "ccnumber"
    origin = request.GET.get("origin", "")
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return HttpResponse("origin is required", status=400, content_type="text/plain")
    context = {"field": field, "sid": request.GET.get("sid", "")[:40], "origin": f"{parts.scheme}://{parts.netloc}",
               "key": request.GET.get("key", ""), "placeholder": request.GET.get("placeholder", ""),
               "base": public_base(request)}
    return render(request, "nmi_sim/frame.html", context)


@csrf_exempt
def tokenize(request: HttpRequest) -> JsonResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    params = _params(request)
    fault, early = _fault_before(request, "tokenize", params)
    if early is not None:
        return early
    account = services.account_for_tokenization_key(params.get("tokenization_key", ""))
    if account is None:
        return JsonResponse({"error": {"field": "tokenization_key", "message": "Invalid tokenization key"}}, status=401)
    try:
        if not params.get("ccnumber") and not params.get("ccexp") and params.get("cvv"):
            token = services.cvv_token_create(account=account, cvv=params["cvv"])
        else:
            token = services.token_create(account=account, ccnumber=params.get("ccnumber", ""),
                                          ccexp=params.get("ccexp", ""), cvv=params.get("cvv", ""))
    except services.TokenizeError as exc:
        return JsonResponse({"error": {"field": exc.field, "message": exc.message}}, status=400)
    _log("tokenize", params, account=account, fault=fault)
    return JsonResponse(services.collectjs_response(token))


# --- 3-D Secure challenge ----------------------------------------------------------------------------------------
@csrf_exempt
@xframe_options_exempt
def challenge(request: HttpRequest, challenge_id: str) -> HttpResponse:
    try:
        txn = transact.challenge_get(challenge_id)
    except transact.ChallengeNotFound:
        return HttpResponse("Unknown 3-D Secure challenge", status=404, content_type="text/plain")
    return_url = request.POST.get("return_url") or request.GET.get("return_url", "")
    if urlsplit(return_url).scheme not in ("http", "https"):
        return_url = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ("complete", "fail"):
            return HttpResponse("action must be complete or fail", status=400, content_type="text/plain")
        txn = transact.challenge_complete(challenge_id, authenticated=action == "complete")
        if return_url:
            separator = "&" if "?" in return_url else "?"
            query_string = urlencode({"transactionid": txn.transaction_id, "orderid": txn.orderid,
                                      "condition": txn.condition})
            response = HttpResponse(status=303)
            response["Location"] = f"{return_url}{separator}{query_string}"
            return response
    amount = f"{format_amount(txn.amount_minor, txn.currency)} {txn.currency}"
    return render(request, "nmi_sim/challenge.html", {"txn": txn, "return_url": return_url, "amount": amount})


# --- control plane ---------------------------------------------------------------------------------------------
def _control(view):
    """Control endpoints: JSON in and out; when NMI_SIM_CONTROL_TOKEN is set, header X-Sim-Control-Token."""
    @csrf_exempt
    def wrapped(request: HttpRequest, *args, **kwargs):
        token = conf.get("NMI_SIM_CONTROL_TOKEN")
        if token and request.headers.get("X-Sim-Control-Token") != token:
            return JsonResponse({"error": "control token required"}, status=403)
        try:
            body = json.loads(request.body or b"{}") if request.content_type == "application/json" else _params(request)
        except ValueError:
            return JsonResponse({"error": "invalid JSON"}, status=400)
        try:
            return view(request, body, *args, **kwargs)
        except (ValueError, LookupError) as exc:
            return JsonResponse({"error": str(exc)}, status=400)

    wrapped.__name__ = view.__name__
    return wrapped


def _fault_json(fault: SimFault) -> dict:
    return {"id": fault.pk, "kind": fault.kind, "endpoint": fault.endpoint, "match": fault.match,
            "remaining": fault.remaining, "hits": fault.hits, "latency_ms": fault.latency_ms,
            "hang_seconds": fault.hang_ms / 1000, "status": fault.status_code}


@_control
def control_faults(request: HttpRequest, body: dict) -> JsonResponse:
    if request.method == "GET":
        return JsonResponse({"faults": [_fault_json(f) for f in faults.active()]})
    if request.method == "DELETE":
        return JsonResponse({"cleared": faults.clear()})
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST", "DELETE"])
    match = body.get("match") or {}
    if isinstance(match, str):
        match = json.loads(match)
    times = body.get("times", 1)
    fault = faults.inject(
        body.get("kind", ""), match=match, times=None if times in (None, "", "0", 0) else int(times),
        endpoint=body.get("endpoint", "transact"), latency_ms=int(body.get("latency_ms") or 0),
        hang_seconds=float(body["hang_seconds"]) if body.get("hang_seconds") not in (None, "") else None,
        status=int(body["status"]) if body.get("status") not in (None, "") else None)
    return JsonResponse(_fault_json(fault), status=201)


@_control
def control_chargebacks(request: HttpRequest, body: dict) -> JsonResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    txn = SimTransaction.objects.filter(transaction_id=body.get("transaction_id", "")).first()
    if txn is None:
        return JsonResponse({"error": "no such transaction"}, status=404)
    amount = parse_amount(body["amount"], txn.currency) if body.get("amount") not in (None, "") else None
    chargeback = chargebacks.inject_chargeback(txn.transaction_id, str(body.get("reason_code") or "10.4"), amount,
                                               notify=str(body.get("notify", "true")).lower() != "false")
    return JsonResponse({"chargeback_id": chargeback.chargeback_id, "transaction_id": txn.transaction_id,
                         "amount_minor": chargeback.amount_minor, "reason_code": chargeback.reason_code}, status=201)


@_control
def control_chargeback_resolve(request: HttpRequest, body: dict, chargeback_id: str) -> JsonResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    chargeback = chargebacks.chargeback_resolve(chargeback_id, won=str(body.get("outcome")) == "won")
    return JsonResponse({"chargeback_id": chargeback.chargeback_id, "status": chargeback.status})


@_control
def control_batch_close(request: HttpRequest, body: dict) -> JsonResponse:
    """Closes due batches (all accounts), or with {"security_key", "force": true} settles one account now."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if body.get("security_key"):
        account = services.account_for_security_key(body["security_key"])
        if account is None:
            return JsonResponse({"error": "unknown security_key"}, status=404)
        force = str(body.get("force", "false")).lower() == "true" or body.get("force") is True
        batches = (settlement.batch_close_now if force else settlement.close_due)(account=account)
    else:
        batches = settlement.batches_close_due()
    return JsonResponse({"batches": [{"batch_id": b.batch_id, "closed_at": b.closed_at.isoformat(),
                                      "transactions": b.transactions.count()} for b in batches]})


@_control
def control_accounts(request: HttpRequest, body: dict) -> JsonResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    account = services.sim_account_create(name=body.get("name", ""), webhook_url=body.get("webhook_url", ""),
                                          currency=body.get("currency", "USD"))
    return JsonResponse({"security_key": account.security_key, "tokenization_key": account.tokenization_key,
                         "webhook_signing_key": account.webhook_signing_key}, status=201)


@_control
def control_webhook_replay(request: HttpRequest, body: dict, event_id: str) -> JsonResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    delivery = webhooks.replay(event_id)
    return JsonResponse({"event_id": delivery.event_id, "status_code": delivery.status_code, "error": delivery.error})
