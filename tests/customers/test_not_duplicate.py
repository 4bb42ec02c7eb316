"""Merge entry points on detail and list pages, "not duplicates" marks, and the cached pairs
behind the duplicates page: what people see, record security, tenants, query counts."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.access.policy import PermissionDenied
from core_crm.audit.models import AuditEntry
from core_crm.customers.merge import (
    AllPairs,
    MergeError,
    all_pairs,
    pair_mark_distinct,
    pair_unmark,
    pairs_cache_key,
    record_merge,
    record_merge_undo,
)
from core_crm.customers.models import Account, Contact, Lead, NotDuplicate
from core_crm.users.models import User

from ..conftest import BETA
from ..customfields.helpers import client_for, user_with_role

PAIR = re.compile(r'data-testid="duplicate-pair" data-a="(\d+)" data-b="(\d+)"')
MARKED = re.compile(r'data-testid="marked-pair" data-a="(\d+)" data-b="(\d+)"')


def pairs_on(page: str) -> set[tuple[int, int]]:
    return {(int(a), int(b)) for a, b in PAIR.findall(page)}


def pair_query_ran(queries: CaptureQueriesContext) -> bool:
    """Read right after the block: the next request clears the connection's query log."""
    assert queries.captured_queries, "nothing captured"
    return any("show_trgm" in q["sql"] for q in queries.captured_queries)


@pytest.fixture
def twins(alpha, admin):
    with tenant_context(alpha):
        one = Account.objects.create(owner=admin, name="Ningbo Pumps", email="pumps@nb.cn")
        two = Account.objects.create(owner=admin, name="NB Pump Works", email="PUMPS@nb.cn")
    return one, two


def body_404(response, url: str) -> str:
    """A 404 page without what differs between any two requests (the form token, the URL)."""
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return text.replace(url, "<url>")


def mark(client, slug: str, first, second, action: str = "mark", **extra):
    return client.post(
        f"/{slug}/{first.pk}/not-duplicate/", {"with": second.pk, "action": action, **extra}
    )


# --- Entry points -----------------------------------------------------------------------------


def test_detail_page_shows_merge_links_to_an_editor_and_not_to_a_read_only_user(
    alpha, admin, admin_client, twins
):
    one, _two = twins
    page = admin_client.get(f"/customers/{one.pk}/").content.decode()
    assert f'href="/customers/{one.pk}/merge/"' in page and 'data-testid="merge-with-link"' in page
    assert 'href="/duplicates/customers/"' in page

    user_with_role(alpha, "reader@alpha.test", "read_only")
    reader = client_for(alpha, "reader@alpha.test")
    seen = reader.get(f"/customers/{one.pk}/")
    assert seen.status_code == 200
    assert "merge-with-link" not in seen.content.decode()
    assert f"/customers/{one.pk}/merge/" not in seen.content.decode()
    assert 'data-testid="find-duplicates-link"' in seen.content.decode()


def test_history_offers_undo_merge_until_the_merge_is_undone(alpha, admin, admin_client, twins):
    one, two = twins
    with tenant_context(alpha):
        entry = record_merge(actor=admin, survivor=one, loser=two, choices={})
    undo_link = f'href="/audit/{entry.pk}/undo-merge/" data-testid="history-undo-merge"'
    page = admin_client.get(f"/customers/{one.pk}/").content.decode()
    history = page.split('data-testid="history"')[1]
    assert undo_link in history

    user_with_role(alpha, "reader@alpha.test", "read_only")
    reader_page = client_for(alpha, "reader@alpha.test").get(f"/customers/{one.pk}/")
    assert "history-undo-merge" not in reader_page.content.decode()

    with tenant_context(alpha):
        record_merge_undo(actor=admin, entry=entry)
    after = admin_client.get(f"/customers/{one.pk}/").content.decode()
    assert "Merge undone" in after and "history-undo-merge" not in after
    # The record brought back shows its merge note, which is not an undoable merge.
    restored = admin_client.get(f"/customers/{two.pk}/").content.decode()
    assert "history-undo-merge" not in restored


@pytest.mark.parametrize("slug", ["customers", "contacts", "leads"])
def test_list_pages_link_to_their_duplicates_page(admin_client, rep_client, slug):
    for client in (admin_client, rep_client):
        page = client.get(f"/{slug}/").content.decode()
        assert re.search(rf'href="/duplicates/{slug}/" data-testid="list-duplicates-link"', page), (
            slug
        )


# --- Marking pairs ----------------------------------------------------------------------------


def test_marking_hides_the_pair_for_everyone_in_the_workspace_but_not_in_another(
    alpha, beta, admin, admin_client, twins
):
    one, two = twins
    with tenant_context(beta):
        beta_admin = User.objects.get(email=BETA.admin_email)
        # The same ids, the same kind of twins, in the other workspace.
        Account.objects.create(pk=one.pk, owner=beta_admin, name="Beta One", email="b@b.cn")
        Account.objects.create(pk=two.pk, owner=beta_admin, name="Beta Two", email="B@b.cn")
    beta_client = client_for(beta, BETA.admin_email)
    user_with_role(alpha, "colleague@alpha.test", "admin")
    colleague = client_for(alpha, "colleague@alpha.test")
    assert (one.pk, two.pk) in pairs_on(admin_client.get("/duplicates/customers/").content.decode())

    response = mark(admin_client, "customers", two, one, next="/duplicates/customers/")
    assert response.status_code == 302 and response["Location"] == "/duplicates/customers/"
    page = admin_client.get("/duplicates/customers/").content.decode()
    assert (one.pk, two.pk) not in pairs_on(page)
    assert "are marked as not duplicates" in page and "not-duplicate-unmark-message" in page
    assert (one.pk, two.pk) not in pairs_on(
        colleague.get("/duplicates/customers/").content.decode()
    )
    assert (one.pk, two.pk) in pairs_on(beta_client.get("/duplicates/customers/").content.decode())

    with tenant_context(alpha):
        stored = NotDuplicate.objects.get()
        assert (stored.low_id, stored.high_id, stored.marked_by_id) == (one.pk, two.pk, admin.pk)
        entries = AuditEntry.objects.filter(changes__has_key="not_duplicate_of")
        assert sorted(e.object_id for e in entries) == sorted([one.pk, two.pk])
        assert all(e.kind == AuditEntry.Kind.UPDATE and e.actor_id == admin.pk for e in entries)
    with tenant_context(beta):
        assert not NotDuplicate.objects.exists()
        assert not AuditEntry.objects.filter(changes__has_key="not_duplicate_of").exists()
    history = admin_client.get(f"/customers/{one.pk}/").content.decode()
    assert "Marked as not a duplicate of “NB Pump Works”" in history


@pytest.mark.parametrize(
    "slug,model,field",
    [
        ("customers", Account, "name"),
        ("contacts", Contact, "last_name"),
        ("leads", Lead, "last_name"),
    ],
)
def test_marking_answers_404_unless_the_user_may_edit_both_records(
    alpha, beta, admin, rep, rep_client, slug, model, field
):
    with tenant_context(alpha):
        mine = model.objects.create(owner=rep, **{field: "Mine"}, email="same@x.cn")
        also_mine = model.objects.create(owner=rep, **{field: "Mine too"}, email="same@x.cn")
        theirs = model.objects.create(owner=admin, **{field: "Theirs"}, email="same@x.cn")
    with tenant_context(beta):
        beta_admin = User.objects.get(email=BETA.admin_email)
        beta_only = model.objects.create(pk=theirs.pk + 100000, owner=beta_admin, **{field: "B"})
    missing_url = f"/{slug}/999999999/not-duplicate/"
    missing = rep_client.post(missing_url, {"with": mine.pk})
    assert missing.status_code == 404
    for other in (theirs, beta_only):
        for first, second in ((mine, other), (other, mine)):
            for action in ("mark", "unmark"):
                response = mark(rep_client, slug, first, second, action)
                assert response.status_code == 404, (first.pk, second.pk, action)
                url = f"/{slug}/{first.pk}/not-duplicate/"
                assert body_404(response, url) == body_404(missing, missing_url)
    assert rep_client.post(f"/{slug}/{mine.pk}/not-duplicate/", {"with": "x"}).status_code == 404
    assert mark(rep_client, slug, mine, mine).status_code == 404
    assert (
        rep_client.get(f"/{slug}/{mine.pk}/not-duplicate/?with={also_mine.pk}").status_code == 405
    )
    with tenant_context(alpha):
        assert not NotDuplicate.objects.exists()
    assert mark(rep_client, slug, mine, also_mine).status_code == 302
    with tenant_context(alpha):
        assert NotDuplicate.objects.count() == 1


def test_a_reader_who_may_edit_only_one_record_gets_404_and_no_button(alpha, admin, twins):
    one, two = twins
    agent = user_with_role(alpha, "agent@alpha.test", "service_agent")  # reads all, edits own
    with tenant_context(alpha):
        Account.objects.filter(pk=one.pk).update(owner=agent)
    client = client_for(alpha, "agent@alpha.test")
    page = client.get("/duplicates/customers/").content.decode()
    assert (one.pk, two.pk) in pairs_on(page) and "not-duplicate-button" not in page
    screen = client.get(f"/customers/{one.pk}/merge/?with={two.pk}").content.decode()
    assert "not-duplicate-form" not in screen
    assert mark(client, "customers", one, two).status_code == 404
    with tenant_context(alpha):
        assert not NotDuplicate.objects.exists()
        with pytest.raises(PermissionDenied):
            pair_mark_distinct(actor=agent, first=one, second=two)


def test_unmark_brings_the_pair_back(alpha, admin, admin_client, twins):
    one, two = twins
    empty = admin_client.get("/duplicates/customers/?show=marked").content.decode()
    assert 'data-testid="empty-state"' in empty and "marked as not duplicates" in empty
    mark(admin_client, "customers", one, two)
    listed = admin_client.get("/duplicates/customers/?show=marked").content.decode()
    assert {(int(a), int(b)) for a, b in MARKED.findall(listed)} == {(one.pk, two.pk)}
    assert 'data-testid="unmark-button"' in listed and "Marked by Alpha Trading Admin" in listed

    response = mark(
        admin_client, "customers", one, two, "unmark", next="/duplicates/customers/?show=marked"
    )
    assert response["Location"] == "/duplicates/customers/?show=marked"
    assert (one.pk, two.pk) in pairs_on(admin_client.get("/duplicates/customers/").content.decode())
    assert not MARKED.findall(
        admin_client.get("/duplicates/customers/?show=marked").content.decode()
    )
    with tenant_context(alpha):
        assert not NotDuplicate.objects.exists()
        changes = [
            e.changes["not_duplicate_of"]
            for e in AuditEntry.objects.filter(
                object_id=one.pk, changes__has_key="not_duplicate_of"
            )
        ]
        assert changes == [["NB Pump Works", None], [None, "NB Pump Works"]]
    again = mark(admin_client, "customers", one, two, "unmark")
    assert again.status_code == 302
    assert "were not marked" in admin_client.get(again["Location"]).content.decode()


def test_merge_screen_and_picker_follow_the_mark(alpha, admin, admin_client):
    with tenant_context(alpha):
        lead = Lead.objects.create(owner=admin, last_name="Ma", email="ma@x.cn")
        twin = Lead.objects.create(owner=admin, last_name="Ma Yun", email="MA@x.cn")
        other = Lead.objects.create(owner=admin, last_name="Ma Hua", email="ma@X.cn")
    screen = admin_client.get(f"/leads/{lead.pk}/merge/?with={twin.pk}").content.decode()
    assert 'data-testid="not-duplicate-button"' in screen
    assert mark(admin_client, "leads", lead, twin).status_code == 302
    screen = admin_client.get(f"/leads/{lead.pk}/merge/?with={twin.pk}").content.decode()
    assert (
        'data-testid="not-duplicate-marked"' in screen and 'data-testid="unmark-button"' in screen
    )
    picker = admin_client.get(f"/leads/{lead.pk}/merge/").content.decode()
    likely = picker.split('data-testid="merge-likely"')[1].split("</ul>")[0]
    assert f'href="?with={other.pk}"' in likely and f'href="?with={twin.pk}"' not in likely
    # Search still finds a marked record: the mark hides a suggestion, not the record.
    found = admin_client.get(f"/leads/{lead.pk}/merge/?q=Yun").content.decode()
    assert f'href="?with={twin.pk}"' in found
    other_side = admin_client.get(f"/leads/{twin.pk}/merge/").content.decode()
    assert f'href="?with={lead.pk}"' not in other_side.split('data-testid="merge-likely"')[1]


def test_mark_services_check_the_pair_and_are_idempotent(alpha, admin, twins):
    one, two = twins
    with tenant_context(alpha):
        contact = Contact.objects.create(owner=admin, last_name="Other type")
        with pytest.raises(MergeError):
            pair_mark_distinct(actor=admin, first=one, second=one)
        with pytest.raises(MergeError):
            pair_mark_distinct(actor=admin, first=one, second=contact)
        first = pair_mark_distinct(actor=admin, first=two, second=one)
        second = pair_mark_distinct(actor=admin, first=one, second=two)
        assert first.pk == second.pk and (first.low_id, first.high_id) == (one.pk, two.pk)
        assert AuditEntry.objects.filter(changes__has_key="not_duplicate_of").count() == 2
        assert pair_unmark(actor=admin, first=one, second=two) is True
        assert pair_unmark(actor=admin, first=one, second=two) is False
        assert AuditEntry.objects.filter(changes__has_key="not_duplicate_of").count() == 4


def test_marks_of_deleted_or_merged_records_break_nothing(alpha, admin, admin_client, twins):
    one, two = twins
    with tenant_context(alpha):
        third = Account.objects.create(owner=admin, name="Pumps Three", email="pumps@nb.cn")
        pair_mark_distinct(actor=admin, first=one, second=two)
        pair_mark_distinct(actor=admin, first=two, second=third)
        entry = record_merge(actor=admin, survivor=one, loser=two, choices={})
    # `two` is gone: its marks are ignored, and the kept record pairs with `third` again.
    page = admin_client.get("/duplicates/customers/").content.decode()
    assert pairs_on(page) == {(one.pk, third.pk)}
    marked = admin_client.get("/duplicates/customers/?show=marked")
    assert marked.status_code == 200 and not MARKED.findall(marked.content.decode())
    with tenant_context(alpha):
        record_merge_undo(actor=admin, entry=entry)
    # Back with its id, `two` is again marked distinct from both.
    page = admin_client.get("/duplicates/customers/").content.decode()
    assert pairs_on(page) == {(one.pk, third.pk)}
    with tenant_context(alpha):
        Account.objects.filter(pk=third.pk).delete()
    assert admin_client.get("/duplicates/customers/?show=marked").status_code == 200
    assert mark(admin_client, "customers", one, third).status_code == 404


# --- Cached pairs -----------------------------------------------------------------------------


def test_pairs_are_cached_per_schema_and_recomputed_when_a_record_changes(
    alpha, beta, admin, admin_client, twins
):
    one, two = twins
    with tenant_context(alpha):
        for i in range(25):  # more than one page of groups
            Account.objects.create(owner=admin, name=f"Firm {i}", email=f"f{i}@x.cn")
            Account.objects.create(owner=admin, name=f"Other {i}", email=f"F{i}@x.cn")
        key = pairs_cache_key(Account)
        assert "alpha" in key
    with tenant_context(beta):
        assert "beta" in pairs_cache_key(Account) and pairs_cache_key(Account) != key

    with CaptureQueriesContext(connection) as first:
        assert admin_client.get("/duplicates/customers/").status_code == 200
    assert pair_query_ran(first)
    with tenant_context(alpha):
        cached = cache.get(key)
        assert isinstance(cached, AllPairs) and (one.pk, two.pk, (1,)) in cached.pairs
    with CaptureQueriesContext(connection) as again:
        page = admin_client.get("/duplicates/customers/").content.decode()
        second_page = admin_client.get("/duplicates/customers/?page=2").content.decode()
    assert not pair_query_ran(again)
    assert len(pairs_on(page)) == 20 and len(pairs_on(second_page)) == 6
    assert (one.pk, two.pk) in pairs_on(page) | pairs_on(second_page)

    # A write that does not touch the change time still gives a new version.
    with tenant_context(alpha):
        Account.objects.filter(pk=two.pk).update(email="elsewhere@nb.cn")
    with CaptureQueriesContext(connection) as changed:
        pages = [admin_client.get(f"/duplicates/customers/?page={n}") for n in (1, 2)]
    assert pair_query_ran(changed)
    assert all((one.pk, two.pk) not in pairs_on(p.content.decode()) for p in pages)

    # The other workspace has its own entry: the same ids, different records.
    with tenant_context(beta):
        beta_admin = User.objects.get(email=BETA.admin_email)
        Account.objects.create(pk=one.pk, owner=beta_admin, name="B1", email="b@b.cn")
        Account.objects.create(pk=two.pk, owner=beta_admin, name="B2", email="b@b.cn")
    beta_page = client_for(beta, BETA.admin_email).get("/duplicates/customers/").content.decode()
    assert pairs_on(beta_page) == {(one.pk, two.pk)}
    with tenant_context(beta):
        assert cache.get(pairs_cache_key(Account)).pairs == [(one.pk, two.pk, (1,))]
    with tenant_context(alpha):
        assert (one.pk, two.pk, (1,)) not in all_pairs(Account).pairs


def test_cached_pairs_still_apply_record_security_per_viewer(
    alpha, admin, rep, admin_client, rep_client
):
    with tenant_context(alpha):
        theirs = Contact.objects.create(owner=admin, last_name="Wu", email="wu@x.cn")
        mine = Contact.objects.create(owner=rep, last_name="Wu", email="wu@x.cn")
        also_mine = Contact.objects.create(owner=rep, last_name="Wu Lei", email="WU@x.cn")
    everything = pairs_on(admin_client.get("/duplicates/contacts/").content.decode())
    assert everything == {(theirs.pk, mine.pk), (theirs.pk, also_mine.pk), (mine.pk, also_mine.pk)}
    with CaptureQueriesContext(connection) as queries:
        own = pairs_on(rep_client.get("/duplicates/contacts/").content.decode())
    assert not pair_query_ran(queries)  # the admin's view filled the cache
    assert own == {(mine.pk, also_mine.pk)}


def test_duplicates_and_marked_pages_query_counts_do_not_grow_with_rows(
    alpha, admin, admin_client, django_assert_max_num_queries
):
    def create(n: int, start: int) -> None:
        with tenant_context(alpha):
            for i in range(start, start + n):
                a = Lead.objects.create(owner=admin, last_name=f"Person {i}", email=f"p{i}@x.cn")
                b = Lead.objects.create(owner=admin, last_name=f"Twin {i}", email=f"P{i}@x.cn")
                c = Lead.objects.create(owner=admin, last_name=f"Trip {i}", email=f"p{i}@X.cn")
                pair_mark_distinct(actor=admin, first=a, second=c)
                del b

    create(2, 0)
    admin_client.get("/duplicates/leads/")  # fill the cache
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get("/duplicates/leads/").status_code == 200
    few_count = len(few)  # read now: the next request clears the connection's query log
    with CaptureQueriesContext(connection) as few_marked:
        assert admin_client.get("/duplicates/leads/?show=marked").status_code == 200
    few_marked_count = len(few_marked)
    create(60, 2)
    admin_client.get("/duplicates/leads/")
    with django_assert_max_num_queries(few_count):
        page = admin_client.get("/duplicates/leads/").content.decode()
    assert len(re.findall(r'data-testid="duplicate-group"', page)) == 20
    assert len(re.findall(r'data-testid="not-duplicate-button"', page)) == 20
    with django_assert_max_num_queries(few_marked_count):
        marked = admin_client.get("/duplicates/leads/?show=marked").content.decode()
    assert len(MARKED.findall(marked)) == 50 and "Page 1 of 2" in marked


def test_new_merge_words_in_chinese(alpha, admin, admin_client, twins):
    one, two = twins
    admin_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = admin_client.get("/duplicates/customers/").content.decode()
    assert "不是重复" in page and "显示已标记为不重复的记录对" in page
    assert "查找重复记录" in admin_client.get("/customers/").content.decode()
    mark(admin_client, "customers", one, two)
    marked = admin_client.get("/duplicates/customers/?show=marked").content.decode()
    assert "已标记为不重复" in marked and "取消标记" in marked
    assert (
        "已标记为与“NB Pump Works”不重复"
        in admin_client.get(f"/customers/{one.pk}/").content.decode()
    )
