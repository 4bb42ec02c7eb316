"""Online signup on the public site: a company gets a workspace, a schema, an admin, a trial."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_exists, tenant_context

from core_crm.users.models import User
from tenants import services
from tenants.models import Domain, SigninToken, Tenant, WorkspaceMember

from ..conftest import host_client

VALID = {
    "company_name": "Northwind Foods",
    "subdomain": "northwind",
    "full_name": "Li Wei",
    "email": "li.wei@northwind.example",
    "password": "a-long-and-unusual-passphrase",
}


def post_signup(client, **changes):
    return client.post("/signup/", {**VALID, **changes})


def test_signup_page_shows_the_form(public_client):
    response = public_client.get("/signup/")
    assert response.status_code == 200
    for name in VALID:
        assert f'name="{name}"' in response.content.decode()


def test_signup_creates_workspace_admin_trial_and_signs_in(
    public_client, django_capture_on_commit_callbacks, eager_celery
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_signup(public_client)

    # The browser is sent to the new workspace's host with a one-time sign-in token.
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert target.hostname == "northwind.localhost"
    assert target.path.startswith("/auth/handoff/")

    tenant = Tenant.objects.get(schema_name="northwind")
    assert tenant.name == "Northwind Foods"
    assert tenant.status == Tenant.Status.TRIALING
    expected_end = timezone.now() + timedelta(days=14)
    assert abs(tenant.trial_ends_at - expected_end) < timedelta(minutes=1)
    assert Domain.objects.get(tenant=tenant).domain == "northwind.localhost"
    assert schema_exists("northwind")
    assert WorkspaceMember.objects.filter(tenant=tenant, email=VALID["email"]).exists()

    with tenant_context(tenant):
        admin = User.objects.get()
        assert admin.email == VALID["email"]
        assert admin.full_name == "Li Wei"
        assert admin.is_workspace_admin
        assert admin.check_password(VALID["password"])
    # The schema was cloned, and nothing leaked into the public users table.
    connection.set_schema_to_public()
    assert not User.objects.filter(email=VALID["email"]).exists()

    # The verification email went out after commit, with a link to the workspace's host.
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [VALID["email"]]
    assert "Northwind Foods" in message.subject
    assert "http://northwind.localhost/accounts/confirm-email/" in message.body

    # Following the redirect signs the admin in on the workspace host.
    workspace = host_client("northwind.localhost")
    landed = workspace.get(target.path, follow=True)
    assert landed.status_code == 200
    assert landed.redirect_chain[-1][0] == "/"
    page = landed.content.decode()
    assert "Welcome, Li" in page
    assert "Northwind Foods" in page
    assert 'data-testid="trial-banner"' in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("company_name", "", "This field is required."),
        ("company_name", "   ", "This field is required."),
        ("subdomain", "", "This field is required."),
        ("subdomain", "ab", "Use 3 to 30 characters."),
        ("subdomain", "a" * 31, "Ensure this value has at most 30 characters"),
        ("subdomain", "north_wind", "Use only lowercase letters, digits and hyphens"),
        ("subdomain", "north wind", "Use only lowercase letters, digits and hyphens"),
        ("subdomain", "-northwind", "do not start or end with a hyphen"),
        ("subdomain", "northwind-", "do not start or end with a hyphen"),
        ("subdomain", "北风", "Use 3 to 30 characters."),
        ("full_name", "", "This field is required."),
        ("email", "not-an-email", "Enter a valid email address."),
        ("email", "", "This field is required."),
        ("password", "", "This field is required."),
        ("password", "short", "This password is too short."),
        ("password", "password123", "This password is too common."),
        ("password", "84736291057392", "This password is entirely numeric."),
        ("password", "li.wei@northwind.example", "too similar to the email address"),
    ],
)
def test_each_invalid_field_gets_its_own_message_and_the_form_keeps_the_rest(
    public_client, field, value, message
):
    response = post_signup(public_client, **{field: value})

    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert any(message in error for error in form.errors[field])
    # The message is shown next to the field, and the other values are still filled in.
    page = response.content.decode()
    assert f'id="{field}-error"' in page
    for other in ("company_name", "full_name", "email"):
        if other != field:
            assert f'value="{VALID[other]}"' in page
    assert not Tenant.objects.filter(schema_name="northwind").exists()


@pytest.mark.parametrize("word", ["www", "api", "admin", "public", "static", "mail", "WWW"])
def test_reserved_subdomains_are_refused(public_client, word):
    response = post_signup(public_client, subdomain=word)
    assert response.status_code == 400
    assert "is reserved" in response.context["form"].errors["subdomain"][0]
    assert Tenant.objects.filter(schema_name__iexact=word).count() == (word.lower() == "public")


def test_duplicate_subdomain_in_another_case_is_refused(public_client, alpha):
    response = post_signup(public_client, subdomain="ALPHA")
    assert response.status_code == 400
    assert response.context["form"].errors["subdomain"] == ["This subdomain is already taken."]
    assert Tenant.objects.filter(schema_name__iexact="alpha").count() == 1


def test_uppercase_subdomain_is_stored_lowercase(public_client):
    response = post_signup(public_client, subdomain="NorthWind")
    assert response.status_code == 302
    assert Tenant.objects.filter(schema_name="northwind").exists()


def test_failure_after_schema_creation_leaves_nothing_behind(
    public_client, monkeypatch, django_capture_on_commit_callbacks
):
    seen = {}

    def exploding_token_issue(**kwargs):
        # The schema, the admin and the directory entry exist at this point.
        seen["schema_existed"] = schema_exists("northwind")
        raise RuntimeError("token store on fire")

    monkeypatch.setattr(services, "signin_token_issue", exploding_token_issue)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        post_signup(public_client)
    assert callbacks == []  # the verification email was never queued

    connection.set_schema_to_public()
    assert seen["schema_existed"] is True
    assert not schema_exists("northwind")
    assert not Tenant.objects.filter(schema_name="northwind").exists()
    assert not Domain.objects.filter(domain="northwind.localhost").exists()
    assert not WorkspaceMember.objects.filter(email=VALID["email"]).exists()
    assert not SigninToken.objects.filter(tenant__schema_name="northwind").exists()


def test_failure_during_schema_clone_leaves_nothing_behind(public_client, monkeypatch):
    from tenants import provisioning

    def broken_clone(base, new):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{new}"')
        raise RuntimeError("disk full")

    monkeypatch.setattr(provisioning, "clone_from_template", broken_clone)
    with pytest.raises(RuntimeError):
        post_signup(public_client)
    connection.set_schema_to_public()
    assert not schema_exists("northwind")
    assert not Tenant.objects.filter(schema_name="northwind").exists()
    assert not Domain.objects.filter(domain="northwind.localhost").exists()


def test_mass_signups_from_one_address_are_stopped(public_client, settings):
    settings.GUANXI_SIGNUP_RATE_LIMIT = 2
    address = "203.0.113.77"
    client_kwargs = {"REMOTE_ADDR": address}
    from django.core.cache import cache

    cache.delete(f"signup-rate:{address}")
    first = public_client.post("/signup/", {**VALID, "subdomain": "mass-one"}, **client_kwargs)
    second = public_client.post("/signup/", {**VALID, "subdomain": "mass-two"}, **client_kwargs)
    third = public_client.post("/signup/", {**VALID, "subdomain": "mass-three"}, **client_kwargs)
    other = public_client.post(
        "/signup/", {**VALID, "subdomain": "mass-other"}, REMOTE_ADDR="198.51.100.5"
    )

    assert (first.status_code, second.status_code) == (302, 302)
    assert third.status_code == 429
    assert "Too many signups from your network" in third.content.decode()
    assert not Tenant.objects.filter(schema_name="mass-three").exists()
    assert other.status_code == 302
    cache.delete(f"signup-rate:{address}")


def test_a_leftover_schema_is_never_handed_to_a_new_workspace(public_client):
    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "northwind"')
        cursor.execute('CREATE TABLE "northwind".secrets (note text)')
        cursor.execute("INSERT INTO \"northwind\".secrets VALUES ('previous owner data')")

    response = post_signup(public_client)

    assert response.status_code == 400
    assert response.context["form"].errors["subdomain"] == ["This subdomain is already taken."]
    assert not Tenant.objects.filter(schema_name="northwind").exists()
    with connection.cursor() as cursor:
        cursor.execute('SELECT note FROM "northwind".secrets')
        assert cursor.fetchone() == ("previous owner data",)  # untouched, not dropped


def test_provisioning_refuses_an_existing_schema_even_past_the_form(db):
    from django.core.exceptions import ValidationError
    from django.test.utils import CaptureQueriesContext

    from tenants.provisioning import provision_tenant

    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "orphan-co"')
    with (
        CaptureQueriesContext(connection) as ctx,
        pytest.raises(ValidationError, match="already exists"),
    ):
        provision_tenant(slug="orphan-co", name="Orphan")
    assert not Tenant.objects.filter(schema_name="orphan-co").exists()
    # Refused before any row existed: django-tenants' clean-up (which drops the schema of a
    # tenant whose creation failed) never ran, not even inside a transaction.
    assert not [q for q in ctx.captured_queries if "DROP SCHEMA" in q["sql"].upper()]
    assert not [q for q in ctx.captured_queries if "INSERT INTO" in q["sql"].upper()]


def test_rate_limit_counts_the_real_client_behind_trusted_proxies(public_client, settings):
    settings.GUANXI_SIGNUP_RATE_LIMIT = 1
    settings.GUANXI_TRUSTED_PROXIES = 1
    from django.core.cache import cache

    for ip in ("192.0.2.10", "192.0.2.11"):
        cache.delete(f"signup-rate:{ip}")
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}  # the load balancer, the same for everyone
    first = public_client.post(
        "/signup/",
        {**VALID, "subdomain": "proxied-one"},
        HTTP_X_FORWARDED_FOR="198.51.100.9, 192.0.2.10",
        **via_proxy,
    )
    other_client = public_client.post(
        "/signup/",
        {**VALID, "subdomain": "proxied-two"},
        HTTP_X_FORWARDED_FOR="192.0.2.11",
        **via_proxy,
    )
    again = public_client.post(
        "/signup/",
        {**VALID, "subdomain": "proxied-three"},
        HTTP_X_FORWARDED_FOR="203.0.113.1, 192.0.2.10",
        **via_proxy,
    )
    assert (first.status_code, other_client.status_code, again.status_code) == (302, 302, 429)


def test_saving_a_tenant_over_an_existing_schema_never_touches_it(db):
    """Any creation path, not just signup: django-tenants would insert the row, fail, and
    clean up with DROP SCHEMA on the schema it failed to create."""
    from django.core.exceptions import ValidationError
    from django.test.utils import CaptureQueriesContext

    with connection.cursor() as cursor:
        cursor.execute('CREATE SCHEMA "someone-else"')
        cursor.execute('CREATE TABLE "someone-else".data (v int)')
    with CaptureQueriesContext(connection) as ctx, pytest.raises(ValidationError):
        Tenant(schema_name="someone-else", name="Intruder").save()
    assert not [q for q in ctx.captured_queries if "DROP SCHEMA" in q["sql"].upper()]
    assert schema_exists("someone-else")
