"""Signing in on a workspace's own host: password, reset, verification, TOTP, throttling."""

from __future__ import annotations

import re
from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from django.core import mail
from django.utils import timezone
from django_tenants.utils import tenant_context

from core_crm.users.models import User
from core_crm.users.tasks import send_verification_email
from tenants.models import SigninToken
from tenants.services import signin_token_issue

from ..conftest import ALPHA, BETA, PASSWORD, host_client


def login(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_login_with_email_and_password_lands_on_the_dashboard(alpha_client):
    response = login(alpha_client, ALPHA.admin_email)
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = alpha_client.get("/").content.decode()
    assert "Welcome, Alpha" in page
    assert 'data-testid="user-menu"' in page


def test_login_ignores_the_case_of_the_email(alpha_client):
    assert login(alpha_client, ALPHA.admin_email.upper()).status_code == 302


def test_wrong_password_is_refused_with_a_message(alpha_client):
    response = login(alpha_client, ALPHA.admin_email, "wrong-password")
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert "_auth_user_id" not in alpha_client.session


def test_deactivated_user_cannot_sign_in(alpha, alpha_client):
    with tenant_context(alpha):
        User.objects.filter(email=ALPHA.rep_email).update(is_active=False)
    response = login(alpha_client, ALPHA.rep_email)
    assert "_auth_user_id" not in alpha_client.session
    assert response.status_code in (200, 302)
    if response.status_code == 302:
        assert "inactive" in response["Location"]


def test_logout_ends_the_session(alpha_client):
    login(alpha_client, ALPHA.admin_email)
    assert alpha_client.get("/").status_code == 200
    alpha_client.post("/accounts/logout/")
    assert alpha_client.get("/").status_code == 302


def test_failed_logins_are_throttled_per_workspace(alpha_client, beta_client, settings):
    settings.ACCOUNT_RATE_LIMITS = {
        **settings.ACCOUNT_RATE_LIMITS,
        "login_failed": "3/m/ip,3/5m/key",
    }
    for _ in range(3):
        login(alpha_client, ALPHA.admin_email, "wrong-password")

    blocked = login(alpha_client, ALPHA.admin_email)  # even the right password, for now
    assert "_auth_user_id" not in alpha_client.session
    assert "Too many failed login attempts" in blocked.content.decode()

    # The counters are kept per tenant: beta's sign-in is unaffected.
    assert login(beta_client, BETA.admin_email).status_code == 302


def test_password_reset_by_email(alpha_client):
    response = alpha_client.post("/accounts/password/reset/", {"email": ALPHA.rep_email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(
        r"http://alpha\.localhost(/accounts/password/reset/key/\S+)", mail.outbox[0].body
    )
    assert link, mail.outbox[0].body

    form_page = alpha_client.get(link.group(1), follow=True)
    action = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link.group(1)
    done = alpha_client.post(
        action, {"password1": "a-brand-new-passphrase", "password2": "a-brand-new-passphrase"}
    )
    assert done.status_code == 302

    assert login(alpha_client, ALPHA.rep_email).status_code == 200  # old password refused
    assert login(alpha_client, ALPHA.rep_email, "a-brand-new-passphrase").status_code == 302


def test_password_reset_for_another_workspaces_user_sends_nothing_useful(alpha_client):
    alpha_client.post("/accounts/password/reset/", {"email": BETA.admin_email})
    assert all("/accounts/password/reset/key/" not in m.body for m in mail.outbox)


def test_verification_link_from_the_signup_email_verifies_the_address(
    alpha, alpha_client, eager_celery
):
    with tenant_context(alpha):
        send_verification_email.delay(1)
    assert mail.outbox[0].to == [ALPHA.admin_email]
    path = re.search(
        r"http://alpha\.localhost(/accounts/confirm-email/\S+)", mail.outbox[0].body
    ).group(1)

    assert alpha_client.get(path).status_code == 200
    assert alpha_client.post(path).status_code == 302
    with tenant_context(alpha):
        assert EmailAddress.objects.get(email=ALPHA.admin_email).verified


def test_totp_two_factor_sign_in(alpha, alpha_client):
    with tenant_context(alpha):
        user = User.objects.get(email=ALPHA.admin_email)
        secret = generate_totp_secret()
        TOTP.activate(user, secret)

    first_step = login(alpha_client, ALPHA.admin_email)
    assert first_step.status_code == 302
    assert first_step["Location"] == "/accounts/2fa/authenticate/"
    assert "_auth_user_id" not in alpha_client.session

    wrong = alpha_client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "_auth_user_id" not in alpha_client.session

    import time

    code = hotp_value(secret, int(time.time()) // 30)
    done = alpha_client.post("/accounts/2fa/authenticate/", {"code": f"{code:06d}"})
    assert done.status_code == 302
    assert alpha_client.get("/").status_code == 200


def test_handoff_token_signs_in_once(alpha, alpha_client):
    token = signin_token_issue(tenant=alpha, user_id=1)
    first = alpha_client.get(f"/auth/handoff/{token}/")
    assert first.status_code == 302
    assert first["Location"] == "/"
    assert alpha_client.get("/").status_code == 200

    again = host_client("alpha.localhost").get(f"/auth/handoff/{token}/")
    assert again.status_code == 400
    assert "expired or was already used" in again.content.decode()


def test_handoff_token_expires(alpha, alpha_client):
    token = signin_token_issue(tenant=alpha, user_id=1)
    SigninToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert alpha_client.get(f"/auth/handoff/{token}/").status_code == 400
    assert "_auth_user_id" not in alpha_client.session


def test_handoff_token_of_one_workspace_is_refused_on_another(alpha, beta_client):
    token = signin_token_issue(tenant=alpha, user_id=1)
    response = beta_client.get(f"/auth/handoff/{token}/")
    assert response.status_code == 400
    assert "_auth_user_id" not in beta_client.session


def test_workspaces_are_closed_to_self_signup(alpha, alpha_client):
    page = alpha_client.get("/accounts/signup/").content.decode()
    assert "Sign Up Closed" in page
    alpha_client.post("/accounts/signup/", {"email": "intruder@x.test", "password1": PASSWORD})
    with tenant_context(alpha):
        assert not User.objects.filter(email="intruder@x.test").exists()


def test_sign_in_never_redirects_to_another_workspace(alpha_client):
    response = alpha_client.post(
        "/accounts/login/?next=http://beta.localhost/",
        {"login": ALPHA.admin_email, "password": PASSWORD, "next": "http://beta.localhost/"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
