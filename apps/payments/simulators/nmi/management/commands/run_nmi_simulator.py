"""`manage.py run_nmi_simulator --port 8101`: the NMI simulator alone, on its own port.

Point a gateway at http://HOST:PORT/_sim/nmi (NMI_SIMULATOR_URL). It shares the project's database, so
accounts created by `sim_account_create()`, faults injected by tests and the ledger are the same rows.
Batches close lazily on every request; run Celery beat (or this command with --close-batches) for the
webhooks to go out on time.
"""
import threading

from django.core.management.base import BaseCommand

from apps.payments.simulators.nmi import settlement
from apps.payments.simulators.nmi.server import make_server


class Command(BaseCommand):
    help = "Runs the NMI simulator (transact.php, query.php, Collect.js, 3-D Secure, control plane) on its own port."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8101)
        parser.add_argument("--verbose-requests", action="store_true", help="Log every request line.")
        parser.add_argument("--close-batches", type=int, default=0, metavar="SECONDS",
                            help="Also close due batches every SECONDS (when no Celery beat runs).")

    def handle(self, *args, host, port, verbose_requests, close_batches, **options):
        server = make_server(host, port, quiet=not verbose_requests)
        stop = threading.Event()
        if close_batches:
            threading.Thread(target=self._close_loop, args=(close_batches, stop), daemon=True).start()
        self.stdout.write(f"NMI simulator on http://{host}:{server.server_address[1]}/_sim/nmi (Ctrl-C stops it)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            stop.set()
            server.server_close()

    def _close_loop(self, every: int, stop: threading.Event) -> None:
        from django.db import connections

        while not stop.wait(every):
            try:
                settlement.batches_close_due()
            except Exception as exc:  # keep serving; the next tick tries again
                self.stderr.write(f"batch close failed: {exc}")
            finally:
                connections.close_all()
