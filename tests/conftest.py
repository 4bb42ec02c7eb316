"""Fixtures shared by the whole suite.

The test database gets, once per test process: the public site, the migrated template schema,
and two workspaces, `alpha` and `beta`, cloned from it. Each has an admin user with primary key 1
(and other rows that share primary keys), so a query that forgets its tenant shows up as a wrong
row rather than a missing one. These are committed, so servers and Celery workers started as
separate processes see them; each test's own changes are rolled back as usual.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct-horse-battery-staple"


@dataclass(frozen=True)
class TenantSpec:
    slug: str
    name: str
    admin_email: str
    rep_email: str


ALPHA = TenantSpec("alpha", "Alpha Trading", "admin@alpha.test", "rep@alpha.test")
BETA = TenantSpec("beta", "Beta Industrial", "admin@beta.test", "rep@beta.test")


def _make_workspace(spec: TenantSpec) -> None:
    from django_tenants.utils import tenant_context

    from core_crm.users.models import User
    from core_crm.users.services import user_create
    from tenants.models import Tenant
    from tenants.provisioning import provision_tenant

    tenant = Tenant.objects.filter(schema_name=spec.slug).first()
    if tenant is None:
        tenant = provision_tenant(slug=spec.slug, name=spec.name, status=Tenant.Status.ACTIVE)
    with tenant_context(tenant):
        if not User.objects.exists():
            user_create(
                email=spec.admin_email,
                full_name=f"{spec.name} Admin",
                password=PASSWORD,
                is_workspace_admin=True,
                send_verification=False,
            )
            user_create(
                email=spec.rep_email,
                full_name=f"{spec.name} Rep",
                password=PASSWORD,
                send_verification=False,
            )


def _public_operator() -> None:
    """A platform operator in the public schema with primary key 1, like the workspace
    admins: a tenant query that falls through to public finds a wrong row, not nothing."""
    from core_crm.users.models import User

    if not User.objects.filter(pk=1).exists():
        User.objects.create_user(
            email="operator@public.test",
            password=PASSWORD,
            full_name="Platform Operator",
            is_staff=True,
        )


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    from tenants.provisioning import ensure_public_tenant, ensure_template

    with django_db_blocker.unblock():
        ensure_public_tenant()
        _public_operator()
        ensure_template()
        for spec in (ALPHA, BETA):
            _make_workspace(spec)
    yield
    # Before pytest-django drops the test database: end any session still attached to it (a
    # connection a server thread or a stopped helper process left open), or the drop fails and
    # the database stays behind on the machine.
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(scope="session", autouse=True)
def _drop_this_process_queue() -> Iterator[None]:
    """Tasks queued for a worker this process never started must not pile up in Redis."""
    yield
    from django.conf import settings

    from guanxi.celery_app import app

    with app.connection_for_write() as conn:
        conn.default_channel.client.delete(settings.CELERY_TASK_DEFAULT_QUEUE)


@pytest.fixture(autouse=True)
def _public_schema_after_each_test() -> Iterator[None]:
    yield
    from django.conf import settings
    from django.db import connection
    from django.utils import translation

    connection.set_schema_to_public()
    # A request in another language leaves it active in this thread; tests start in English.
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def alpha(db):  # type: ignore[no-untyped-def]
    from tenants.models import Tenant

    return Tenant.objects.get(schema_name=ALPHA.slug)


@pytest.fixture
def beta(db):  # type: ignore[no-untyped-def]
    from tenants.models import Tenant

    return Tenant.objects.get(schema_name=BETA.slug)


def host_client(host: str):  # type: ignore[no-untyped-def]
    from django.test import Client

    return Client(HTTP_HOST=host)


@pytest.fixture
def public_client(db):  # type: ignore[no-untyped-def]
    return host_client("localhost")


@pytest.fixture
def alpha_client(alpha):  # type: ignore[no-untyped-def]
    return host_client("alpha.localhost")


@pytest.fixture
def beta_client(beta):  # type: ignore[no-untyped-def]
    return host_client("beta.localhost")


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run tasks in-process (for tests about what a task does, not about the worker)."""
    from guanxi.celery_app import app

    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


# --- Separate processes against the test database ---------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_database_url() -> str:
    """DATABASE_URL of the test database, for processes the tests start."""
    from django.db import connection

    s = connection.settings_dict
    host = s.get("HOST") or "127.0.0.1"
    auth = quote(s.get("USER") or "postgres")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    if host.startswith("/"):  # a unix socket directory goes in the path (django-environ)
        return f"postgres://{auth}@/{host}/{s['NAME']}"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{s['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    from django.conf import settings

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "guanxi.settings_test",
        "DATABASE_URL": test_database_url(),
        "GUANXI_TEST_CHILD": "1",
        "GUANXI_CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "platform")]),
    }
    env.update(extra)
    return env


def wait_for(predicate, timeout: float, what: str, log: Path | None = None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {timeout}s\n{tail}")


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path, ready, what: str) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Run `command` until the block ends; wait until `ready()` first, showing its log if not."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(ready, 60, what, log)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class Worker:
    mail_dir: Path
    log: Path


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, tmp_path_factory) -> Iterator[Worker]:  # type: ignore[no-untyped-def]
    """A real Celery worker process consuming this test process's queue."""
    from guanxi.celery_app import app

    mail_dir = tmp_path_factory.mktemp("worker-mail")
    log = tmp_path_factory.mktemp("worker-log") / "worker.log"
    node = f"guanxi-test-{os.getpid()}@localhost"
    env = process_env(EMAIL_URL=f"filemail:///{mail_dir}")
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "guanxi.celery_app",
        "worker",
        "--pool",
        "solo",
        "-n",
        node,
        "-Q",
        env["GUANXI_CELERY_QUEUE"],
        "--without-gossip",
        "--without-mingle",
        "-l",
        "INFO",
    ]
    ready = lambda: bool(app.control.ping(destination=[node], timeout=0.5))  # noqa: E731
    with running(command, env, log, ready, "Celery worker"):
        yield Worker(mail_dir=mail_dir, log=log)


@dataclass
class LiveServer:
    port: int
    mail_dir: Path

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="session")
def live_app(django_db_setup, tmp_path_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """The app served by a real server process on a free port, shared by the browser tests."""
    port = free_port()
    mail_dir = tmp_path_factory.mktemp("server-mail")
    log = tmp_path_factory.mktemp("server-log") / "server.log"
    env = process_env(GUANXI_URL_PORT=str(port), EMAIL_URL=f"filemail:///{mail_dir}")
    command = [
        sys.executable,
        str(ROOT / "manage.py"),
        "runserver",
        "--noreload",
        f"127.0.0.1:{port}",
    ]

    def up() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    with running(command, env, log, up, "App server"):
        yield LiveServer(port=port, mail_dir=mail_dir)


def sign_in(client, tenant, email: str) -> None:  # type: ignore[no-untyped-def]
    """Sign `email` in on `client` the way the tenant's host would: session in its schema."""
    from django_tenants.utils import tenant_context

    from core_crm.users.models import User

    with tenant_context(tenant):
        client.force_login(
            User.objects.get(email=email), backend="django.contrib.auth.backends.ModelBackend"
        )


# --- People of the alpha workspace ------------------------------------------------------------


@pytest.fixture
def admin(alpha):  # type: ignore[no-untyped-def]
    """Alpha's workspace admin (primary key 1, like beta's)."""
    from django_tenants.utils import tenant_context

    from core_crm.users.models import User

    with tenant_context(alpha):
        return User.objects.get(email=ALPHA.admin_email)


@pytest.fixture
def rep(alpha):  # type: ignore[no-untyped-def]
    """Alpha's second user, given the sales rep role (own records only)."""
    from django_tenants.utils import tenant_context

    from core_crm.access.models import Role
    from core_crm.users.models import User

    with tenant_context(alpha):
        user = User.objects.get(email=ALPHA.rep_email)
        user.role = Role.objects.get(key="sales_rep")
        user.save(update_fields=["role"])
        return user


@pytest.fixture
def admin_client(alpha):  # type: ignore[no-untyped-def]
    client = host_client("alpha.localhost")
    sign_in(client, alpha, ALPHA.admin_email)
    return client


@pytest.fixture
def rep_client(alpha, rep):  # type: ignore[no-untyped-def]
    client = host_client("alpha.localhost")
    sign_in(client, alpha, ALPHA.rep_email)
    return client
