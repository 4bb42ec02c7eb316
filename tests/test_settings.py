"""Settings come from the environment, and production refuses insecure defaults."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# Set by the test settings in this process; a production process would not have them.
TEST_ONLY = {
    "SECRET_KEY",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL",
    "GUANXI_URL_SCHEME",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def _run(args, **env):
    base = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**base, "DJANGO_SETTINGS_MODULE": "guanxi.settings", **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _run(["check"], DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is missing or is the insecure development default" in result.stderr


def test_refuses_a_short_secret_key_when_debug_is_off():
    result = _run(["check"], DEBUG="false", SECRET_KEY="short")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_mode_runs_with_the_development_default():
    result = _run(["check"], DEBUG="true")
    assert result.returncode == 0, result.stderr


def test_deploy_check_is_clean_in_production_settings():
    result = _run(
        ["check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="false",
        SECRET_KEY="k8Jq2-vN0xZ7pL4wR9tY1uE6iO3aS5dF8gH2jK0lM7nB4vC1xZ9qW3eR6tY",
        GUANXI_BASE_DOMAIN="guanxi.example.com",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_deploy_check_warns_when_email_goes_nowhere():
    env = {k: v for k, v in os.environ.items() if k != "EMAIL_URL"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        env={
            **{k: v for k, v in env.items() if k not in TEST_ONLY},
            "DJANGO_SETTINGS_MODULE": "guanxi.settings",
            "DEBUG": "false",
            "SECRET_KEY": "k8Jq2-vN0xZ7pL4wR9tY1uE6iO3aS5dF8gH2jK0lM7nB4vC1xZ9qW3eR6tY",
        },
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode != 0
    assert "guanxi.W001" in result.stderr + result.stdout


def test_base_domain_sets_allowed_hosts():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.ALLOWED_HOSTS, settings.GUANXI_BASE_DOMAIN)",
        ],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "guanxi.settings",
            "DEBUG": "true",
            "GUANXI_BASE_DOMAIN": "crm.example.org",
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'platform'}",
        },
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "['crm.example.org', '.crm.example.org'] crm.example.org" in result.stdout
