"""Error pages: someone signed in to a workspace keeps its header (menu, search) on a 404 or
403; the public site keeps its own layout; a 403 says why."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from core_crm.access.models import Role
from core_crm.users.models import User

from ..conftest import ALPHA, sign_in


def test_not_found_keeps_the_workspace_header_for_a_signed_in_person(alpha, alpha_client):
    sign_in(alpha_client, alpha, ALPHA.rep_email)
    page = alpha_client.get("/customers/999999/")
    assert page.status_code == 404
    html = page.content.decode()
    assert 'data-testid="not-found"' in html
    assert 'data-testid="global-search"' in html and 'data-testid="user-menu"' in html
    assert "Go to the dashboard" in html


def test_not_found_on_the_public_site_and_signed_out_uses_the_public_layout(
    alpha_client, public_client
):
    for client in (public_client, alpha_client):
        html = client.get("/no-such-page/").content.decode()
        assert 'data-testid="not-found"' in html
        assert 'data-testid="global-search"' not in html
        assert "Go to the dashboard" not in html


def test_forbidden_form_says_why_inside_the_workspace_layout(alpha, alpha_client):
    with tenant_context(alpha):
        read_only = Role.objects.get(key="read_only")
        User.objects.filter(email=ALPHA.rep_email).update(role=read_only)
    sign_in(alpha_client, alpha, ALPHA.rep_email)
    form = alpha_client.get("/leads/new/")
    assert form.status_code == 403
    html = form.content.decode()
    assert 'data-testid="global-search"' in html
    reason = html.split('data-testid="forbidden-reason">')[1].split("</p>")[0]
    assert "does not allow creating" in reason
