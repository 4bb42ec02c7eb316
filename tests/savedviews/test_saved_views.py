"""Saved views: save the current list, open it from the menu, rename, share, delete; private
views stay private, shared ones are seen by everyone, other workspaces' answer 404."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from core_crm.savedviews.models import SavedView
from core_crm.users.models import User

from ..conftest import ALPHA, BETA
from ..customfields.helpers import client_for, user_with_role


@pytest.fixture
def rep(alpha):
    return user_with_role(alpha, ALPHA.rep_email, "sales_rep")


@pytest.fixture
def colleague(alpha):
    return user_with_role(alpha, "colleague@views.test", "sales_rep")


def menu(page: str) -> str:
    return page.split('data-testid="views-menu"')[1].split("</details>")[0]


def test_save_the_current_list_and_open_it_again(alpha, rep):
    client = client_for(alpha, rep.email)
    response = client.post(
        "/views/new/",
        {
            "object_type": "lead",
            "name": "Hot leads",
            "query": "status=new&rating=hot&sort=-score&page=3&cols=company%2Cscore&view=9",
        },
    )
    with tenant_context(alpha):
        view = SavedView.objects.get(owner=rep, name="Hot leads")
    assert view.object_type == "lead" and not view.shared
    assert view.query == "status=new&rating=hot&sort=-score&cols=company%2Cscore"
    assert response.status_code == 302
    assert response["Location"] == f"/leads/?{view.query}&view={view.pk}"
    page = client.get(response["Location"]).content.decode()
    assert 'data-testid="current-view"' in page and "Hot leads" in page
    assert f'href="/views/{view.pk}/"' in menu(page)
    assert f'href="/views/{view.pk}/edit/"' in menu(page)  # the owner may change it
    opened = client.get(f"/views/{view.pk}/")
    assert opened.status_code == 302 and opened["Location"] == response["Location"]
    # It belongs to leads: the accounts menu does not offer it.
    assert "Hot leads" not in menu(client.get("/customers/").content.decode())


def test_a_name_is_required_and_unique_per_person_and_list(alpha, rep, colleague):
    client = client_for(alpha, rep.email)
    client.post("/views/new/", {"object_type": "account", "name": "Mine", "query": ""})
    again = client.post(
        "/views/new/", {"object_type": "account", "name": "Mine", "query": "q=x"}, follow=True
    )
    assert "You already have a view with this name." in again.content.decode()
    assert again.redirect_chain[-1][0] == "/customers/?q=x"
    blank = client.post("/views/new/", {"object_type": "account", "name": "  "}, follow=True)
    assert "Give the view a name." in blank.content.decode()
    # The same name is fine for someone else, or on another list.
    client_for(alpha, colleague.email).post(
        "/views/new/", {"object_type": "account", "name": "Mine"}
    )
    client.post("/views/new/", {"object_type": "contact", "name": "Mine"})
    with tenant_context(alpha):
        assert SavedView.objects.filter(name="Mine").count() == 3


def test_private_views_are_private_and_shared_views_are_seen_by_everyone(alpha, rep, colleague):
    with tenant_context(alpha):
        private = SavedView.objects.create(
            owner=rep, object_type="account", name="My secret list", query="q=a"
        )
        shared = SavedView.objects.create(
            owner=rep, object_type="account", name="Team list", query="q=b", shared=True
        )
    other = client_for(alpha, colleague.email)
    page = menu(other.get("/customers/").content.decode())
    assert "Team list" in page and "My secret list" not in page
    assert other.get(f"/views/{shared.pk}/").status_code == 302
    assert other.get(f"/views/{private.pk}/").status_code == 404
    # Only the owner changes or deletes a view, shared or not.
    for view in (private, shared):
        assert other.get(f"/views/{view.pk}/edit/").status_code == 404
        assert other.post(f"/views/{view.pk}/edit/", {"name": "Hijacked"}).status_code == 404
        assert other.post(f"/views/{view.pk}/delete/").status_code == 404
    opened = other.get(f"/customers/?q=b&view={shared.pk}").content.decode()
    assert f'href="/views/{shared.pk}/edit/"' not in opened
    with tenant_context(alpha):
        assert SavedView.objects.filter(name__in=["My secret list", "Team list"]).count() == 2


def test_rename_share_and_delete_your_own_view(alpha, rep, colleague):
    with tenant_context(alpha):
        view = SavedView.objects.create(owner=rep, object_type="contact", name="Old", query="q=z")
        SavedView.objects.create(owner=rep, object_type="contact", name="Taken")
    client = client_for(alpha, rep.email)
    form = client.get(f"/views/{view.pk}/edit/")
    assert form.status_code == 200 and 'value="Old"' in form.content.decode()
    clash = client.post(f"/views/{view.pk}/edit/", {"name": "Taken"})
    assert clash.status_code == 400 and 'id="name-error"' in clash.content.decode()
    renamed = client.post(f"/views/{view.pk}/edit/", {"name": "Beijing contacts", "shared": "on"})
    assert renamed.status_code == 302
    with tenant_context(alpha):
        view.refresh_from_db()
        assert view.name == "Beijing contacts" and view.shared
    assert "Beijing contacts" in menu(
        client_for(alpha, colleague.email).get("/contacts/").content.decode()
    )
    deleted = client.post(f"/views/{view.pk}/delete/")
    assert deleted.status_code == 302 and deleted["Location"] == "/contacts/"
    with tenant_context(alpha):
        assert not SavedView.objects.filter(pk=view.pk).exists()


def test_another_workspaces_view_answers_404_like_a_missing_one(alpha, beta, rep):
    with tenant_context(beta):
        beta_admin = User.objects.get(email=BETA.admin_email)
        theirs = SavedView.objects.create(
            pk=424242, owner=beta_admin, object_type="account", name="Beta", shared=True
        )
    client = client_for(alpha, rep.email)
    for url in (f"/views/{theirs.pk}/", f"/views/{theirs.pk}/edit/", "/views/999999/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/views/{theirs.pk}/delete/").status_code == 404
    assert "Beta" not in menu(client.get("/customers/").content.decode())
    with tenant_context(beta):
        assert SavedView.objects.filter(pk=theirs.pk).exists()
    # Opening a view id from the list's query string shows nothing of another workspace.
    page = client.get(f"/customers/?view={theirs.pk}").content.decode()
    assert 'data-testid="current-view"' not in page


def test_a_view_keeps_filters_sort_and_columns(alpha, rep):
    client = client_for(alpha, rep.email)
    client.post(
        "/views/new/",
        {"object_type": "account", "name": "Cities", "query": "q=co&sort=city&cols=city%2Cemail"},
    )
    with tenant_context(alpha):
        view = SavedView.objects.get(name="Cities")
    page = client.get(client.get(f"/views/{view.pk}/")["Location"]).content.decode()
    assert 'name="cols" value="city,email"' in page
    assert 'name="sort" value="city"' in page and 'value="co"' in page
