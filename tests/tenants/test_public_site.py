"""The public site, unknown hosts, closed workspaces, health endpoints."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.test import Client

from tenants.models import Tenant

from ..conftest import ALPHA, BETA


def test_landing_page_shows_the_plans_and_signup(public_client):
    response = public_client.get("/")
    page = response.content.decode()
    assert response.status_code == 200
    for plan in ("Starter", "Growth", "Enterprise"):
        assert plan in page
    assert 'href="/signup/"' in page


@pytest.mark.parametrize(
    "host", ["nowhere.localhost", "no-such-co.localhost:8000", "www.nowhere.localhost"]
)
def test_unknown_subdomain_gets_a_friendly_404_page(db, host):
    response = Client(HTTP_HOST=host).get("/")
    assert response.status_code == 404
    page = response.content.decode()
    hostname = host.split(":")[0].removeprefix("www.")
    assert f"There is no workspace at {hostname}." in page
    assert "Find my workspace" in page


def test_a_host_outside_the_base_domain_is_refused_with_404(db):
    response = Client(HTTP_HOST="alpha.other.example").get("/")
    assert response.status_code == 404


def test_unknown_path_on_a_workspace_gets_the_404_page(alpha_client):
    response = alpha_client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We couldn't find that page." in response.content.decode()


def test_template_schema_is_not_reachable_by_host(db):
    # Even if a domain pointed at it by mistake, the template serves nothing.
    from tenants.models import Domain

    template = Tenant.objects.get(is_template=True)
    Domain.objects.create(domain="template-probe.localhost", tenant=template, is_primary=True)
    response = Client(HTTP_HOST="template-probe.localhost").get("/accounts/login/")
    assert response.status_code == 404
    assert "Sign in to" not in response.content.decode()


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (Tenant.Status.SUSPENDED, "The Alpha Trading workspace is suspended."),
        (Tenant.Status.CANCELED, "The Alpha Trading workspace has been closed."),
    ],
)
def test_suspended_and_canceled_workspaces_say_so(alpha, alpha_client, status, text):
    alpha.status = status
    alpha.save()
    for path in ("/", "/accounts/login/"):
        response = alpha_client.get(path)
        assert response.status_code == 403
        assert text in response.content.decode()
    # Health checks still answer for the load balancer.
    assert alpha_client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "status", [Tenant.Status.TRIALING, Tenant.Status.ACTIVE, Tenant.Status.PAST_DUE]
)
def test_open_workspaces_serve_their_login_page(alpha, alpha_client, status):
    alpha.status = status
    alpha.save()
    response = alpha_client.get("/accounts/login/")
    assert response.status_code == 200
    assert "Sign in to Alpha Trading" in response.content.decode()


@pytest.mark.parametrize("host", ["localhost", "alpha.localhost", "nowhere.localhost", "10.0.0.7"])
def test_health_endpoints_answer_on_every_host(db, host):
    client = Client(HTTP_HOST=host)
    live = client.get("/healthz")
    assert live.status_code == 200
    assert live.content == b"ok\n"
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert json.loads(ready.content) == {"ready": True, "database": "ok", "broker": "ok"}


def test_readiness_fails_when_the_broker_is_unreachable(db, settings):
    from guanxi.celery_app import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = Client(HTTP_HOST="localhost").get("/readyz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    body = json.loads(response.content)
    assert body["ready"] is False
    assert body["database"] == "ok"
    assert body["broker"].startswith("error")


def test_workspace_finder_emails_the_links_of_every_workspace(
    public_client, django_capture_on_commit_callbacks, eager_celery
):
    from django_tenants.utils import tenant_context

    from core_crm.users.services import user_create
    from tenants.models import Tenant as T

    beta = T.objects.get(schema_name=BETA.slug)
    with tenant_context(beta):
        user_create(
            email=ALPHA.admin_email,
            full_name="Also in Beta",
            password="x" * 12,
            send_verification=False,
        )

    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/find-workspace/", {"email": "Admin@Alpha.test"})

    assert response.status_code == 302
    assert response["Location"] == "/find-workspace/sent/"
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert mail.outbox[0].to == [ALPHA.admin_email]
    assert "Alpha Trading: http://alpha.localhost/accounts/login/" in body
    assert "Beta Industrial: http://beta.localhost/accounts/login/" in body


def test_workspace_finder_answers_the_same_for_unknown_addresses(
    public_client, django_capture_on_commit_callbacks, eager_celery
):
    with django_capture_on_commit_callbacks(execute=True):
        response = public_client.post("/find-workspace/", {"email": "nobody@nowhere.test"})
    assert response.status_code == 302
    assert response["Location"] == "/find-workspace/sent/"
    assert "could not find a Guanxi workspace" in mail.outbox[0].body


def test_workspace_finder_rejects_a_bad_address(public_client):
    response = public_client.post("/find-workspace/", {"email": "nope"})
    assert response.status_code == 200
    assert "Enter a valid email address." in response.content.decode()
    assert mail.outbox == []


def test_workspace_finder_sends_at_most_a_few_mails_per_address(
    public_client, django_capture_on_commit_callbacks, eager_celery, settings
):
    from django.core.cache import cache

    settings.GUANXI_FINDER_RATE_LIMIT = 2
    cache.delete("finder-email:victim@example.com")
    cache.delete("finder-ip:203.0.113.50")
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            public_client.post(
                "/find-workspace/", {"email": "victim@example.com"}, REMOTE_ADDR="203.0.113.50"
            )
            for _ in range(4)
        ]
    assert all(a["Location"] == "/find-workspace/sent/" for a in answers)  # same answer
    assert len(mail.outbox) == 2
