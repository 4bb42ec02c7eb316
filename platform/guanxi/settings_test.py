"""Settings for the test suite: the production settings with test-only keys and fast hashing.

Tests run with real PostgreSQL and Redis (see tests/conftest.py); nothing here swaps a service
for a fake.
"""

import os

os.environ["GUANXI_IGNORE_DOTENV"] = "1"
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
os.environ.setdefault("GUANXI_URL_SCHEME", "http")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault("SECURE_PROXY_SSL", "false")
os.environ.setdefault("GUANXI_SIGNUP_RATE_LIMIT", "1000")
os.environ.setdefault("GUANXI_LOGIN_FAILED_RATE", "100/m/ip,100/5m/key")
# Each test process gets its own Celery queue and cache prefix, so parallel test processes and
# a running `make run` never take each other's tasks or keys. Servers and workers that a test
# process starts are told its names (GUANXI_TEST_CHILD); anything else picks its own, even
# when it inherited the variables from the process that spawned it.
if not os.environ.get("GUANXI_TEST_CHILD"):
    os.environ["GUANXI_CELERY_QUEUE"] = f"guanxi-test-{os.getpid()}"
    os.environ["CACHE_KEY_PREFIX"] = f"guanxi-test-{os.getpid()}"

# One database per test run (`make test` names it after its process and host, and cleans up
# the databases of runs that died), so two runs on one machine never share tables.
if not os.environ.get("GUANXI_TEST_RUN_ID"):
    import hashlib
    import socket

    _host = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
    os.environ["GUANXI_TEST_RUN_ID"] = f"{os.getpid()}h{_host}"

from .settings import *  # noqa: F403
from .settings import DATABASES, STORAGES

DATABASES["default"]["TEST"] = {"NAME": f"test_guanxi_r{os.environ['GUANXI_TEST_RUN_ID']}"}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None  # type: ignore[assignment]  # files come from the finders; nothing is collected for tests
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
