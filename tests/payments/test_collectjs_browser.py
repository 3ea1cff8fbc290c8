"""Collect.js in a real browser: a shop's checkout page (its own origin) loads the simulator's Collect.js,
the customer types a card into the simulator's iframes, the page gets a token, and a sale with that token
is approved — while the card number never travels to anything but the simulator (ARCHITECTURE.md rule 11)."""
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from apps.core.money import Money
from tests.payments.conftest import sim_db

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "/tmp")
CARD = "4000018260000009"  # the simulator's GB Visa debit test card

CHECKOUT_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8"><title>Acme checkout</title>
<script src="{collectjs}" data-tokenization-key="{key}"></script>
<style>body {{ font: 16px system-ui; max-width: 26rem; margin: 2rem auto; }} label {{ display: block; margin-top: 1rem; }}</style>
</head>
<body>
<h1>Pay Acme £25.00</h1>
<form id="checkout">
  <label>Card number</label><div id="ccnumber"></div>
  <label>Expiry</label><div id="ccexp"></div>
  <label>CVV</label><div id="cvv"></div>
  <button id="payButton" type="button">Pay £25.00</button>
</form>
<p>Card: <output id="card"></output></p>
<p>Token: <output id="token"></output></p>
<p id="problem"></p>
<script>
  document.addEventListener("DOMContentLoaded", function () {{
    CollectJS.configure({{
      variant: "inline",
      validationCallback: function (field, valid, message) {{
        document.getElementById("problem").textContent = field + ": " + message;
      }},
      callback: function (response) {{
        document.getElementById("card").textContent = response.card.number + " " + response.card.type;
        fetch("/pay", {{method: "POST", headers: {{"Content-Type": "application/x-www-form-urlencoded"}},
                        body: "payment_token=" + encodeURIComponent(response.token)}})
          .then(function () {{ document.getElementById("token").textContent = response.token; }});
      }}
    }});
  }});
</script>
</body>
</html>"""


@pytest.fixture
def shop(nmi_simulator, sim_account):
    """The merchant's web server (another origin than the simulator): serves checkout, records what it gets."""
    received: list[tuple[str, str, bytes]] = []
    page = CHECKOUT_PAGE.format(collectjs=f"{nmi_simulator.url}/token/Collect.js",
                                key=sim_account.tokenization_key).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            received.append(("GET", self.path, b""))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(("POST", self.path, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


@pytest.fixture
def browser_page(chromium_path):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 900, "height": 700})
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            connections.close_all()
            context.close()
            browser.close()


@pytest.mark.browser
@sim_db
def test_collectjs_tokenises_in_the_simulator_frames_and_the_token_is_charged(
        nmi_simulator, shop, browser_page, gateway, attempt_id):
    shop_url, shop_received = shop
    page = browser_page
    outgoing: list[tuple[str, str]] = []
    page.on("request", lambda request: outgoing.append((request.url, request.post_data or "")))

    page.goto(f"{shop_url}/checkout")
    card_frame = page.frame_locator("#ccnumber iframe")
    card_frame.get_by_label("Card number").fill("4000 0182 6000 0009")
    page.frame_locator("#ccexp iframe").get_by_label("Expiration date").fill("12 / 30")
    page.frame_locator("#cvv iframe").get_by_label("Security code").fill("999")
    page.get_by_role("button", name="Pay £25.00").click()

    expect(page.locator("#token")).not_to_have_text("")
    token = page.locator("#token").inner_text().strip()
    expect(page.locator("#card")).to_have_text("400001******0009 visa")
    page.screenshot(path=f"{SCREENSHOT_DIR}/revkeen_collectjs_checkout.png", full_page=True)

    # The shop received the token and nothing else; the card number went only to the simulator.
    assert ("POST", "/pay", f"payment_token={token}".encode()) in shop_received
    for _method, path, body in shop_received:
        assert CARD not in path and CARD.encode() not in body.replace(b"+", b"").replace(b"%20", b"")
    to_others = [(url, data) for url, data in outgoing if not url.startswith(nmi_simulator.url)]
    assert to_others, "the shop's own requests were observed"
    for url, data in to_others:
        assert CARD not in url.replace(" ", "") and CARD not in data.replace(" ", "").replace("+", ""), url
    assert any(url == f"{nmi_simulator.url}/token/tokenize" and CARD in data for url, data in outgoing)
    assert CARD not in page.content()  # the shop's page itself cannot see into the simulator's frames

    # The shop's server charges the token through the adapter.
    result = gateway.sale(amount=Money(2500, "GBP"), order_id=attempt_id(), payment_token=token)
    assert result.approved
    assert (result.card.brand, result.card.funding, result.card.country, result.card.last4, result.cvv_result) == (
        "visa", "debit", "GB", "0009", "M")


@pytest.mark.browser
@sim_db
def test_collectjs_reports_an_invalid_card_to_the_validation_callback(nmi_simulator, shop, browser_page):
    shop_url, _ = shop
    page = browser_page
    page.goto(f"{shop_url}/checkout")
    page.frame_locator("#ccnumber iframe").get_by_label("Card number").fill("4111 1111 1111 1112")
    page.frame_locator("#ccexp iframe").get_by_label("Expiration date").fill("1230")
    page.get_by_role("button", name="Pay £25.00").click()
    expect(page.locator("#problem")).to_have_text("ccnumber: Card number is invalid")
    expect(page.locator("#token")).to_have_text("")
