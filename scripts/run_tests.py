"""`make test`: runs the whole suite on PostgreSQL + Redis when they answer, SQLite otherwise.

DATABASE_URL / REDIS_URL win when set; else the local defaults are tried. With REQUIRE_SERVICES=1
(CI) a missing service is an error instead of a fallback.
"""
import os
import shutil
import socket
import subprocess
import sys
from urllib.parse import urlparse

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/revkeen"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"


def answers(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=1):
            pass
    except OSError:
        return False
    if parsed.scheme.startswith("postgres"):
        try:
            import psycopg

            dbname = "postgres"
            with psycopg.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username or "postgres",
                                 password=parsed.password, dbname=dbname, connect_timeout=2):
                return True
        except Exception as exc:
            print(f"PostgreSQL at {parsed.hostname}:{parsed.port} refused: {exc}")
            return False
    return True


def main() -> int:
    env = dict(os.environ)
    require = env.get("REQUIRE_SERVICES") == "1"
    db_url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = env.get("REDIS_URL") or DEFAULT_REDIS_URL
    db_ok, redis_ok = answers(db_url), answers(redis_url)
    if db_ok and redis_ok:
        env["DATABASE_URL"], env["REDIS_URL"] = db_url, redis_url
        print(f"make test: PostgreSQL ({urlparse(db_url).hostname}) and Redis ({redis_url}) in use")
    else:
        missing = [name for name, ok in (("PostgreSQL", db_ok), ("Redis", redis_ok)) if not ok]
        if require:
            print(f"make test: REQUIRE_SERVICES=1 but {' and '.join(missing)} did not answer; failing.")
            return 2
        print(f"make test: {' and '.join(missing)} not reachable; running on SQLite with in-process stand-ins "
              "(concurrency tests are skipped there). Set DATABASE_URL/REDIS_URL or start them for the full suite.")
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
    env["DJANGO_SETTINGS_MODULE"] = "revkeen.settings.test"
    env["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API beside Django's live server
    env.setdefault("CHROMIUM_PATH", shutil.which("chromium") or "/usr/bin/chromium")
    result = subprocess.run([sys.executable, "-m", "pytest", *sys.argv[1:]], env=env)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
