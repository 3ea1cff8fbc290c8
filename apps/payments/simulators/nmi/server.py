"""The simulator on its own port: a small threaded WSGI server that serves only /_sim/nmi/.

Used by `manage.py run_nmi_simulator` and by the tests (`start_simulator_server()` in a thread). It is
Django's development server plus one thing other servers cannot do: a view may ask for its TCP
connection to be reset instead of answered (faults `connection_reset`, `drop_after_charge`). The view
sets `request.META["nmi_sim.control"]["abort"]`; the WSGI wrapper below then closes the socket with
SO_LINGER 0 (an RST on the wire) and tells the server the client went away.
"""
from __future__ import annotations

import logging
import os
import socket
import struct
import threading
from dataclasses import dataclass

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

URLCONF = "apps.payments.simulators.nmi.standalone_urls"
log = logging.getLogger(__name__)


class SimulatorWSGIHandler(WSGIHandler):
    """Django's WSGI handler, routing with the simulator's URLconf only and running no middleware: the
    simulator stands for another company's service, so none of our dashboard's middleware (sessions,
    auth, tenancy) belongs in front of it."""

    def load_middleware(self, is_async=False):
        self._view_middleware, self._template_response_middleware, self._exception_middleware = [], [], []
        self._middleware_chain = convert_exception_to_response(self._get_response)

    def get_response(self, request):
        request.urlconf = URLCONF
        return super().get_response(request)


def reset_connection(sock: socket.socket) -> None:
    """Drops the connection with a TCP RST (not a FIN): what a client sees as 'connection reset by peer'."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # Detach first: the request handler's file objects still reference the socket, and socket.close()
        # would wait for them; closing the descriptor itself sends the RST now.
        os.close(sock.detach())
    except OSError:
        pass


def simulator_wsgi_app():
    django_app = SimulatorWSGIHandler()

    def app(environ, start_response):
        control = environ["nmi_sim.control"] = {}
        result = django_app(environ, start_response)
        if control.get("abort") and "nmi_sim.socket" in environ:
            if hasattr(result, "close"):
                result.close()
            environ["nmi_sim.handler"].close_connection = True
            reset_connection(environ["nmi_sim.socket"])
            # wsgiref's ServerHandler.run treats this as "the client went away" and writes nothing.
            raise ConnectionAbortedError("NMI simulator fault: connection reset")
        return result

    return app


class _RequestHandler(WSGIRequestHandler):
    # An idle keep-alive connection lets go of its thread (and database connection) after this long.
    timeout = 15
    quiet = True

    def get_environ(self):
        environ = super().get_environ()
        environ["nmi_sim.socket"] = self.connection
        environ["nmi_sim.handler"] = self
        return environ

    def log_message(self, format, *args):
        if not self.quiet:
            super().log_message(format, *args)


class SimulatorHTTPServer(ThreadedWSGIServer):
    """Threaded; remembers its request threads so `stop()` can wait for them (and their DB connections)."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._request_threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def process_request(self, request, client_address):
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                                  name="nmi-sim-request", daemon=True)
        with self._lock:
            self._request_threads = [t for t in self._request_threads if t.is_alive()]
            self._request_threads.append(thread)
        thread.start()

    def join_requests(self, timeout: float) -> None:
        with self._lock:
            threads = list(self._request_threads)
        for thread in threads:
            thread.join(timeout)

    def handle_error(self, request, client_address):
        log.debug("NMI simulator: request from %s ended with an error", client_address, exc_info=True)


@dataclass
class RunningSimulator:
    server: SimulatorHTTPServer
    thread: threading.Thread
    host: str
    port: int

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The gateway base URL to configure an adapter with (…/_sim/nmi)."""
        return f"{self.root}/_sim/nmi"

    def stop(self, timeout: float = 10) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.server.join_requests(timeout)
        self.thread.join(timeout)


def make_server(host: str = "127.0.0.1", port: int = 8101, *, quiet: bool = True) -> SimulatorHTTPServer:
    handler = type("SimRequestHandler", (_RequestHandler,), {"quiet": quiet})
    server = SimulatorHTTPServer((host, port), handler, ipv6=":" in host)
    server.set_app(simulator_wsgi_app())
    return server


def start_simulator_server(host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True) -> RunningSimulator:
    """Starts the simulator in a background thread (port 0: any free port) and returns where it listens."""
    server = make_server(host, port, quiet=quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="nmi-simulator", daemon=True)
    thread.start()
    return RunningSimulator(server=server, thread=thread, host=host, port=server.server_address[1])
