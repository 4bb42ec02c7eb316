"""The duplicates page, the merge screen and undo: what people see, record security, 404s."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.audit.models import AuditEntry
from core_crm.customers.models import Account, Contact, Employment, Lead, Tag
from core_crm.users.models import User

from ..conftest import ALPHA, BETA, sign_in


def client_for(tenant, email: str) -> Client:
    client = Client(HTTP_HOST=f"{tenant.schema_name}.localhost")
    sign_in(client, tenant, email)
    return client


@pytest.fixture
def admin_client(alpha, admin):
    return client_for(alpha, ALPHA.admin_email)


@pytest.fixture
def rep_client(alpha, rep):
    return client_for(alpha, ALPHA.rep_email)


def find_testids(page: str, name: str) -> list[str]:
    return re.findall(rf'data-testid="{name}"[^>]*', page)


# --- Duplicates page --------------------------------------------------------------------------


def test_duplicates_page_lists_pairs_with_reasons_and_merge_links(alpha, admin, admin_client):
    with tenant_context(alpha):
        older = Account.objects.create(owner=admin, name="Hangzhou Tea", email="tea@hz.cn")
        by_email = Account.objects.create(owner=admin, name="HZ Tea Trading", email="TEA@hz.cn")
        by_name = Account.objects.create(owner=admin, name="Hangzhou Tea Co", city="Hangzhou")
        Account.objects.filter(pk=older.pk).update(city="hangzhou")
        by_phone_1 = Account.objects.create(owner=admin, name="Pumps", phone="+86 574 8888 1234")
        by_phone_2 = Account.objects.create(owner=admin, name="Other Pumps", phone="057488881234")
        Account.objects.create(owner=admin, name="Alone", email="alone@x.cn")

    page = admin_client.get("/duplicates/customers/").content.decode()
    pairs = re.findall(r'data-testid="duplicate-pair" data-a="(\d+)" data-b="(\d+)"', page)
    assert sorted((int(a), int(b)) for a, b in pairs) == sorted(
        [(older.pk, by_email.pk), (older.pk, by_name.pk), (by_phone_1.pk, by_phone_2.pk)]
    )
    assert len(find_testids(page, "duplicate-group")) == 2
    assert "same email" in page and "similar name" in page and "same phone" in page
    assert f'href="/customers/{older.pk}/merge/?with={by_email.pk}"' in page
    assert "Alone" not in page


def test_duplicates_page_shows_only_pairs_of_readable_records(alpha, admin, rep, rep_client):
    with tenant_context(alpha):
        Lead.objects.create(owner=admin, last_name="Wu", email="wu@x.cn")
        mine = Lead.objects.create(owner=rep, last_name="Wu", email="wu@x.cn")
        also_mine = Lead.objects.create(owner=rep, last_name="Wu Lei", email="WU@x.cn")
    page = rep_client.get("/duplicates/leads/").content.decode()
    pairs = re.findall(r'data-testid="duplicate-pair" data-a="(\d+)" data-b="(\d+)"', page)
    assert pairs == [(str(mine.pk), str(also_mine.pk))]


def test_duplicates_page_empty_state_and_unknown_type(admin_client):
    page = admin_client.get("/duplicates/contacts/").content.decode()
    assert 'data-testid="empty-state"' in page
    assert "No likely duplicates among the Contacts you can see." in page
    assert admin_client.get("/duplicates/opportunities/").status_code == 404


def test_duplicates_page_query_count_does_not_grow_with_rows(
    alpha, admin, admin_client, django_assert_max_num_queries
):
    def create(n: int, start: int) -> None:
        with tenant_context(alpha):
            for i in range(start, start + n):
                Contact.objects.create(owner=admin, last_name=f"Person {i}", email=f"p{i}@x.cn")
                Contact.objects.create(owner=admin, last_name=f"Twin {i}", email=f"P{i}@x.cn")

    create(2, 0)
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get("/duplicates/contacts/").status_code == 200
    create(40, 2)  # more than one page of groups
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = admin_client.get("/duplicates/contacts/").content.decode()
    assert len(find_testids(page, "duplicate-group")) == 20
    assert 'data-testid="duplicates-next"' in page
    second = admin_client.get("/duplicates/contacts/?page=3").content.decode()
    assert len(find_testids(second, "duplicate-group")) == 2
    assert admin_client.get("/duplicates/contacts/?page=x").status_code == 200


def test_duplicates_page_says_so_when_the_comparison_takes_too_long(
    alpha, admin, admin_client, monkeypatch
):
    from core_crm.customers import merge

    with tenant_context(alpha):
        Lead.objects.create(owner=admin, last_name="Slow", email="slow@x.cn")
        Lead.objects.create(owner=admin, last_name="Slow", email="slow@x.cn")
    pairs_sql = merge._pairs_sql
    monkeypatch.setattr(
        merge,
        "_pairs_sql",
        lambda model: pairs_sql(model).replace(
            "FROM pairs GROUP BY a, b",
            "FROM pairs CROSS JOIN (SELECT pg_sleep(1)) AS pause GROUP BY a, b",
        ),
    )
    monkeypatch.setattr(merge, "PAIRS_TIMEOUT_MS", 50)
    page = admin_client.get("/duplicates/leads/").content.decode()
    assert 'data-testid="duplicates-timeout"' in page and "empty-state" not in page
    assert admin_client.get("/leads/").status_code == 200  # the connection is still usable


# --- Merge screen -----------------------------------------------------------------------------


@pytest.fixture
def pair(alpha, admin):
    with tenant_context(alpha):
        survivor = Account.objects.create(
            owner=admin, name="Suzhou Silk", city="Suzhou", email="", phone="0512 6666 1234"
        )
        loser = Account.objects.create(
            owner=admin, name="Suzhou Silk Ltd", city="Suzhou", email="silk@sz.cn"
        )
        Contact.objects.create(owner=admin, last_name="Gu", account=loser)
        Contact.objects.create(owner=admin, last_name="Xu", account=loser)
        loser.tags.add(Tag.objects.create(name="silk"))
        return survivor, loser


def test_merge_screen_shows_fields_defaults_and_what_will_move(admin_client, pair):
    survivor, loser = pair
    response = admin_client.get(f"/customers/{survivor.pk}/merge/?with={loser.pk}")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'data-testid="merge-form"' in page and 'data-testid="merge-confirm"' in page
    assert re.search(rf'data-testid="merge-survivor-{survivor.pk}"[^>]*checked', page)
    # Differing fields get a radio each; the survivor's value by default, else the other's.
    assert re.search(rf'data-testid="merge-keep-name-{survivor.pk}"[^>]*checked', page)
    assert re.search(rf'data-testid="merge-keep-email-{loser.pk}"[^>]*checked', page)
    assert 'data-testid="merge-field-city"' not in page  # the same in both
    related = page.split(f'data-testid="merge-related-{loser.pk}"')[1].split("</label>")[0]
    assert "Contacts: <strong>2</strong>" in related and "Tags: <strong>1</strong>" in related


def test_merge_by_post_then_undo_from_the_message(alpha, admin_client, pair):
    survivor, loser = pair
    url = f"/customers/{survivor.pk}/merge/?with={loser.pk}"
    response = admin_client.post(
        url, {"survivor": survivor.pk, "keep:name": loser.pk, "keep:email": loser.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/customers/{survivor.pk}/"
    with tenant_context(alpha):
        kept = Account.objects.get(pk=survivor.pk)
        assert kept.name == "Suzhou Silk Ltd" and kept.email == "silk@sz.cn"
        assert kept.phone == "0512 6666 1234"
        assert kept.contacts.count() == 2 and kept.tags.count() == 1
        assert not Account.objects.filter(pk=loser.pk).exists()
        entry = AuditEntry.objects.get(kind=AuditEntry.Kind.MERGE, object_id=survivor.pk)

    detail = admin_client.get(response["Location"]).content.decode()
    assert "Suzhou Silk Ltd" in detail and "is now part of this record" in detail
    undo_url = f"/audit/{entry.pk}/undo-merge/"
    assert f'action="{undo_url}"' in detail and 'data-testid="merge-undo-button"' in detail

    confirm = admin_client.get(undo_url).content.decode()
    assert 'data-testid="undo-merge-confirm"' in confirm and "3 linked records go back" in confirm
    undone = admin_client.post(undo_url)
    assert undone.status_code == 302 and undone["Location"] == f"/customers/{survivor.pk}/"
    with tenant_context(alpha):
        assert Account.objects.get(pk=survivor.pk).name == "Suzhou Silk"
        back = Account.objects.get(pk=loser.pk)
        assert back.contacts.count() == 2 and back.tags.count() == 1
    again = admin_client.post(undo_url)
    assert again.status_code == 400
    assert 'data-testid="undo-merge-done"' in again.content.decode()


def test_keeping_the_other_record_from_the_screen(alpha, admin_client, pair):
    survivor, loser = pair
    response = admin_client.post(
        f"/customers/{survivor.pk}/merge/?with={loser.pk}", {"survivor": loser.pk}
    )
    assert response["Location"] == f"/customers/{loser.pk}/"
    with tenant_context(alpha):
        kept = Account.objects.get(pk=loser.pk)
        assert kept.name == "Suzhou Silk Ltd" and kept.phone == "0512 6666 1234"
        assert not Account.objects.filter(pk=survivor.pk).exists()


def test_merge_errors_are_shown_and_nothing_is_saved(alpha, admin, admin_client, pair):
    survivor, loser = pair
    url = f"/customers/{survivor.pk}/merge/?with={loser.pk}"
    bad = admin_client.post(url, {"survivor": survivor.pk, "keep:name": "999999"})
    assert bad.status_code == 400
    assert 'id="name-error"' in bad.content.decode()
    nobody = admin_client.post(url, {})
    assert nobody.status_code == 400 and "Choose the record to keep." in nobody.content.decode()
    with tenant_context(alpha):
        # The loser's parent is a branch of the survivor: keeping it would make a loop.
        branch = Account.objects.create(owner=admin, name="Branch", parent=survivor)
        Account.objects.filter(pk=loser.pk).update(parent=branch)
    loop = admin_client.post(url, {"survivor": survivor.pk, "keep:parent": loser.pk})
    assert loop.status_code == 400 and 'id="parent-error"' in loop.content.decode()
    with tenant_context(alpha):
        assert Account.objects.filter(pk=loser.pk).exists()
        assert Account.objects.get(pk=survivor.pk).parent_id is None
        assert not AuditEntry.objects.filter(kind=AuditEntry.Kind.MERGE).exists()


def test_rep_cannot_merge_records_they_cannot_delete(alpha, rep, rep_client):
    with tenant_context(alpha):
        one = Contact.objects.create(owner=rep, last_name="Sun", email="sun@x.cn")
        two = Contact.objects.create(owner=rep, last_name="Sun", email="sun@x.cn")
    url = f"/contacts/{one.pk}/merge/?with={two.pk}"
    page = rep_client.get(url).content.decode()
    assert 'data-testid="merge-not-allowed"' in page and 'data-testid="merge-confirm"' not in page
    refused = rep_client.post(url, {"survivor": one.pk})
    assert refused.status_code == 400
    assert "does not allow deleting" in refused.content.decode()
    with tenant_context(alpha):
        assert Contact.objects.filter(pk__in=[one.pk, two.pk]).count() == 2


def test_merge_picker_offers_likely_duplicates_and_search(alpha, admin, admin_client):
    with tenant_context(alpha):
        lead = Lead.objects.create(owner=admin, last_name="Ma", email="ma@x.cn")
        twin = Lead.objects.create(owner=admin, last_name="Ma Yun", email="MA@x.cn")
        other = Lead.objects.create(owner=admin, last_name="Luo", company="Findme Ltd")
    page = admin_client.get(f"/leads/{lead.pk}/merge/").content.decode()
    likely = page.split('data-testid="merge-likely"')[1].split("</ul>")[0]
    assert f'href="?with={twin.pk}"' in likely and "same email" in likely
    found = admin_client.get(f"/leads/{lead.pk}/merge/?q=findme").content.decode()
    assert f'href="?with={other.pk}"' in found.split('data-testid="merge-found"')[1]


def test_lead_merge_through_the_screen(alpha, admin, admin_client):
    with tenant_context(alpha):
        one = Lead.objects.create(owner=admin, last_name="He", phone="138 0000 1111")
        two = Lead.objects.create(owner=admin, last_name="He", company="He Foods", score=40)
    response = admin_client.post(
        f"/leads/{one.pk}/merge/?with={two.pk}", {"survivor": one.pk, "keep:score": two.pk}
    )
    assert response.status_code == 302
    with tenant_context(alpha):
        kept = Lead.objects.get(pk=one.pk)
        assert (kept.company, kept.score, kept.phone) == ("He Foods", 40, "138 0000 1111")


def test_contact_merge_through_the_screen_keeps_employment_history(alpha, admin, admin_client):
    with tenant_context(alpha):
        firm = Account.objects.create(owner=admin, name="Firm")
        one = Contact.objects.create(owner=admin, last_name="Lu", account=firm)
        two = Contact.objects.create(owner=admin, last_name="Lu", account=firm)
        for contact in (one, two):
            Employment.objects.create(contact=contact, account=firm, account_name="Firm")
    assert admin_client.post(f"/contacts/{one.pk}/merge/?with={two.pk}", {"survivor": one.pk})[
        "Location"
    ] == (f"/contacts/{one.pk}/")
    with tenant_context(alpha):
        jobs = Employment.objects.filter(contact=one)
        assert jobs.count() == 2 and jobs.filter(ended_at__isnull=True).count() == 1


def test_merge_screen_in_chinese(alpha, admin_client, pair):
    survivor, loser = pair
    admin_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = admin_client.get(f"/customers/{survivor.pk}/merge/?with={loser.pk}").content.decode()
    assert "合并记录" in page and "保留的记录" in page
    duplicates = admin_client.get("/duplicates/customers/").content.decode()
    assert "可能重复" in duplicates


# --- 404s -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "slug,model,field",
    [
        ("customers", Account, "name"),
        ("contacts", Contact, "last_name"),
        ("leads", Lead, "last_name"),
    ],
)
def test_out_of_scope_and_other_tenant_ids_answer_404_on_every_merge_url(
    alpha, beta, admin, rep, rep_client, slug, model, field
):
    with tenant_context(alpha):
        mine = model.objects.create(owner=rep, **{field: "Mine"})
        also_mine = model.objects.create(owner=rep, **{field: "Mine too"})
        theirs = model.objects.create(owner=admin, **{field: "Theirs"})
    with tenant_context(beta):
        beta_admin = User.objects.get(email=BETA.admin_email)
        beta_only = model.objects.create(pk=theirs.pk + 100000, owner=beta_admin, **{field: "B"})
    missing = rep_client.get(f"/{slug}/999999999/merge/")
    assert missing.status_code == 404
    for pk in (theirs.pk, beta_only.pk):
        for url in (
            f"/{slug}/{pk}/merge/",
            f"/{slug}/{pk}/merge/?with={mine.pk}",
            f"/{slug}/{mine.pk}/merge/?with={pk}",
        ):
            assert rep_client.get(url).status_code == 404, url
            assert rep_client.post(url, {"survivor": mine.pk}).status_code == 404, url
    assert rep_client.get(f"/{slug}/{mine.pk}/merge/?with={mine.pk}").status_code == 404
    assert rep_client.get(f"/{slug}/{mine.pk}/merge/?with=abc").status_code == 404
    assert rep_client.get(f"/{slug}/{mine.pk}/merge/?with={also_mine.pk}").status_code == 200
    with tenant_context(alpha):
        assert model.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2


def test_undo_url_answers_404_unless_the_user_may_edit_the_kept_record(
    alpha, beta, admin, rep, admin_client, rep_client
):
    from core_crm.customers.merge import record_merge

    with tenant_context(alpha):
        survivor = Account.objects.create(owner=admin, name="Kept")
        loser = Account.objects.create(owner=admin, name="Gone")
        entry = record_merge(actor=admin, survivor=survivor, loser=loser, choices={})
        note = AuditEntry.objects.get(kind=AuditEntry.Kind.MERGE, object_id=loser.pk)
        update = AuditEntry.objects.create(
            content_type=entry.content_type,
            object_id=survivor.pk,
            object_repr="Kept",
            kind=AuditEntry.Kind.UPDATE,
            channel="web",
        )
    url = f"/audit/{entry.pk}/undo-merge/"
    assert rep_client.get(url).status_code == 404  # cannot edit the admin's record
    assert rep_client.post(url).status_code == 404
    beta_client = client_for(beta, BETA.admin_email)
    assert beta_client.get(url).status_code == 404  # no such merge in the other workspace
    assert beta_client.post(url).status_code == 404
    for other in (note.pk, update.pk, 999999999):
        assert admin_client.get(f"/audit/{other}/undo-merge/").status_code == 404
    with tenant_context(alpha):
        assert not Account.objects.filter(pk=loser.pk).exists()
    assert admin_client.get(url).status_code == 200


def test_detail_actions_partial_links_to_the_merge_picker_and_duplicates(alpha, admin):
    from django.template.loader import render_to_string

    from core_crm.customers.views import PAGES

    with tenant_context(alpha):
        contact = Contact.objects.create(owner=admin, last_name="Partial")
    html = render_to_string(
        "customers/merge/_detail_actions.html", {"obj": contact, "pages": PAGES["contacts"]}
    )
    assert (
        f'href="/contacts/{contact.pk}/merge/"' in html and 'data-testid="merge-with-link"' in html
    )
    assert 'href="/duplicates/contacts/"' in html
    hidden = render_to_string(
        "customers/merge/_detail_actions.html",
        {"obj": contact, "pages": PAGES["contacts"], "can_edit": False},
    )
    assert "merge-with-link" not in hidden
