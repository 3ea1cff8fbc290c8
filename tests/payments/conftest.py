"""Fixtures for the gateway tests: the NMI simulator on its own port, a simulator account, the real adapter.

The adapter talks real HTTP to the simulator's own threaded server (apps.payments.simulators.nmi.server),
the one `run_nmi_simulator` runs, which can also reset TCP connections for the fault tests. Its request
threads use the test database, so these tests commit (transactional_db): the server must see the rows.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from apps.core.ids import new_id
from apps.payments.gateways.nmi import NmiGateway
from apps.payments.simulators.nmi import services
from apps.payments.simulators.nmi.server import start_simulator_server

# The simulator's server threads must see committed rows, so gateway tests commit; flushing only the
# simulator's tables between them keeps that fast (Django's `available_apps`).
sim_db = pytest.mark.django_db(transaction=True, available_apps=["apps.payments.simulators.nmi"])


@pytest.fixture(scope="session")
def nmi_simulator(django_db_setup):
    """The simulator on a free port for the whole session (its base URL: `nmi_simulator.url`)."""
    running = start_simulator_server()
    yield running
    running.stop()


@pytest.fixture
def sim_account(transactional_db):
    return services.sim_account_create(name="Acme Test Shop")


@pytest.fixture
def gateway(nmi_simulator, sim_account):
    """The NMI adapter for `sim_account`, with a short read timeout so timeout tests run fast."""
    adapter = NmiGateway(base_url=nmi_simulator.url, security_key=sim_account.security_key,
                         tokenization_key=sim_account.tokenization_key, connect_timeout=2, read_timeout=1.5)
    yield adapter
    adapter.close()


@pytest.fixture
def attempt_id():
    """A fresh id of ours for one money-moving attempt (what the adapter sends as NMI's orderid)."""
    return lambda: new_id("pay")


@pytest.fixture
def tokenize(nmi_simulator, sim_account):
    """Mints a Collect.js token the way the simulator's card frame does (a POST to /token/tokenize)."""

    def mint(ccnumber: str, ccexp: str = "1230", cvv: str = "123") -> str:
        response = httpx.post(f"{nmi_simulator.url}/token/tokenize", timeout=5, data={
            "tokenization_key": sim_account.tokenization_key, "ccnumber": ccnumber, "ccexp": ccexp, "cvv": cvv})
        assert response.status_code == 200, response.text
        return response.json()["token"]

    return mint


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 200


@pytest.fixture
def webhook_receiver():
    """A tiny HTTP endpoint that records what is posted to it (the merchant's webhook URL)."""
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.received.append(Received(self.path, dict(self.headers), body))
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/nmi"
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def sandbox_tenant(tenant):
    """`tenant`'s merchant in sandbox mode, without the simulator (rows written with the ORM)."""
    from apps.core.tenancy import Tenant

    return Tenant(tenant.merchant, livemode=False)


# The payments service/API tests' fixtures (a merchant whose sandbox gateway points at `nmi_simulator`).
from tests.payments.payments_helpers import actor, sandbox, shop  # noqa: E402, F401
