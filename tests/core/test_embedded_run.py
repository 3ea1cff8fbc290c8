"""`make run` end to end, as a person would meet it: embedded mode (no DATABASE_URL/REDIS_URL) on a
fresh SQLite file: migrate, load_demo (its printed sandbox key), runserver_embedded on a free port,
then the login page, a dashboard login, the API with the printed key, static files, and a scheduled
job executed by the beat inside the server process."""
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
KEY_RE = re.compile(r"Sandbox API key:\s+(rk_sandbox_[A-Za-z0-9_-]+)")
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STRANDED_SETUP = """
from datetime import timedelta
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from apps.core.clock import now
from apps.core.models import Event
# What an operator could add in Django admin: the outbox sweep every second instead of every minute.
every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
PeriodicTask.objects.update_or_create(name="test: outbox sweep every second",
                                      defaults={"task": "apps.core.tasks.dispatch_pending_events", "interval": every})
# An event whose after-commit dispatch never happened (a crash): only the scheduled sweep can send it.
event = Event.objects.order_by("created_at").first()
Event.objects.filter(pk=event.pk).update(dispatched_at=None, created_at=now() - timedelta(minutes=10))
print("STRANDED", event.pk)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _embedded_env(sqlite_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(DJANGO_SETTINGS_MODULE="revkeen.settings", SQLITE_PATH=str(sqlite_path), PYTHONUNBUFFERED="1")
    return env


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


class EmbeddedServer:
    def __init__(self, base_url, api_key, sqlite_path, log_path, stranded_event_id, timings):
        self.base_url, self.api_key, self.sqlite_path = base_url, api_key, sqlite_path
        self.log_path, self.stranded_event_id, self.timings = log_path, stranded_event_id, timings

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def query(self, sql: str, *params):
        with sqlite3.connect(self.sqlite_path, timeout=20) as db:
            return db.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("embedded")
    sqlite_path, log_path = tmp / "db.sqlite3", tmp / "server.log"
    env = _embedded_env(sqlite_path)
    timings = {}
    started = time.monotonic()
    _manage(env, "migrate", "--noinput", "-v", "0")
    timings["migrate"] = time.monotonic() - started
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    output = _manage(env, "load_demo", "--base-url", base_url)
    match = KEY_RE.search(output)
    assert match, f"load_demo printed no sandbox key:\n{output}"
    stranded = re.search(r"STRANDED (\S+)", _manage(env, "shell", "-c", STRANDED_SETUP)).group(1)
    timings["prepare"] = time.monotonic() - started

    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "manage.py", "runserver_embedded", f"127.0.0.1:{port}"], cwd=ROOT,
                                   env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"runserver_embedded exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"runserver_embedded never answered:\n{log_path.read_text()}"
            try:
                if httpx.get(f"{base_url}/accounts/login/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        timings["serving"] = time.monotonic() - started
        yield EmbeddedServer(base_url, match.group(1), sqlite_path, log_path, stranded, timings)
    finally:
        process.send_signal(signal.SIGTERM)  # what Ctrl-C / a supervisor does
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
            pytest.fail(f"runserver_embedded ignored SIGTERM:\n{log_path.read_text()}")


def _summary(response) -> str:
    """The exception of a DEBUG error page, rather than 60 kB of HTML."""
    title = re.search(r"<title>(.*?)</title>", response.text, re.S)
    value = re.search(r'<pre class="exception_value">(.*?)</pre>', response.text, re.S)
    parts = [f"{response.status_code} at {response.url}", title and title.group(1).strip(), value and value.group(1).strip()]
    return " | ".join(p for p in parts if p)


def test_login_page_is_html(server):
    response = httpx.get(f"{server.base_url}/accounts/login/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'name="csrfmiddlewaretoken"' in response.text


def test_static_files_are_served(server):
    response = httpx.get(f"{server.base_url}/static/admin/css/base.css")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/css")
    assert len(response.content) > 1000


def test_the_printed_sandbox_key_works_on_the_api(server):
    # By family: later apps' demo steps (catalog, customers, payments, billing, checkout) add many newer events.
    events = []
    for family in ("merchant.*", "api_key.*"):
        response = httpx.get(f"{server.base_url}/v2/events?type={family}&limit=100",
                             headers={"x-api-key": server.api_key})
        assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
        events += response.json()["data"]
    assert events and {e["type"] for e in events} >= {"api_key.created", "merchant.created"}
    assert all(e["livemode"] is False for e in events)


def test_scheduled_jobs_run_inside_the_server(server):
    """The beat thread synced CELERY_BEAT_SCHEDULE into the database and ran the (1 s) outbox sweep eagerly
    in the server process: the stranded event gets dispatched with no worker and no broker anywhere."""
    deadline = time.monotonic() + 20
    dispatched = None
    while time.monotonic() < deadline and not dispatched:
        [(dispatched,)] = server.query("SELECT dispatched_at FROM core_event WHERE id = ?", server.stranded_event_id)
        time.sleep(0.2)
    assert dispatched, f"the scheduled sweep never ran in the server:\n{server.log()}"
    names = {name for (name,) in server.query("SELECT name FROM django_celery_beat_periodictask")}
    assert set(settings.CELERY_BEAT_SCHEDULE) <= names
    assert "Scheduled jobs run in this process" in server.log()


def test_demo_user_logs_in_and_lands_on_the_dashboard(server):
    with httpx.Client(base_url=server.base_url, follow_redirects=True, timeout=10) as client:
        page = client.get("/accounts/login/")
        token = CSRF_RE.search(page.text).group(1)
        assert client.cookies.get("csrftoken")
        response = client.post("/accounts/login/", data={"login": "demo@revkeen.local", "password": "demo-password-123",
                                                         "csrfmiddlewaretoken": token})
        assert response.history and response.history[0].status_code == 302, _summary(response)
        assert response.url.path == "/dashboard/"
        assert response.status_code == 200 and "Northwind" in response.text
