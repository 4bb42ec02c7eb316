"""CSV export of a list: exactly the filtered rows in list order, the chosen columns, UTF-8
with a byte order mark, within the role's export scope."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.access.models import Role
from core_crm.customers import services
from core_crm.customers.models import Account, Contact, Tag
from core_crm.users.models import User

from ..conftest import ALPHA, BETA
from ..customfields.helpers import admin_of, client_for, make_all_types, row_names, user_with_role


def read_csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="')
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte order mark Excel looks for
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture
def manager(alpha):
    return user_with_role(alpha, "manager@export.test", "sales_manager")


@pytest.fixture
def data(alpha):
    make_all_types(alpha, "account")
    admin = admin_of(alpha)
    with tenant_context(alpha):
        vip = Tag.objects.create(name="重点客户")
        rows = [
            (
                "上海阀门有限公司",
                "上海",
                {"region": "north", "staff": 120, "renewal": "2026-06-30"},
            ),
            ("Hangzhou Tea", "杭州", {"region": "south", "staff": 15}),
            (
                "Beijing Pumps",
                "北京",
                {"region": "north", "staff": 800, "channels": ["web", "fair"]},
            ),
            ("=HYPERLINK(evil)", "", {"region": "north"}),
        ]
        for name, city, values in rows:
            account = services.record_create(
                Account,
                actor=admin,
                channel="web",
                data={
                    "name": name,
                    "city": city,
                    "phone": "+86 21 5555 0000",
                    "custom_fields": values,
                },
            )
            account.tags.add(vip)
    return admin


def test_export_is_the_filtered_list_with_its_columns_and_chinese_intact(alpha, data):
    client = client_for(alpha, ALPHA.admin_email)
    client.post(
        "/customers/columns/",
        {"cols": ["city", "cf_region", "cf_staff", "cf_renewal", "tags", "phone"]},
    )
    params = {"cf_region": "north", "sort": "-cf_staff"}
    page = client.get("/customers/", params).content.decode()
    rows = read_csv(client.get("/customers/export.csv", params))
    assert rows[0] == ["Name", "City", "Region", "Staff", "Renewal", "Tags", "Phone"]
    assert [r[0] for r in rows[1:]] == [
        "Beijing Pumps",
        "上海阀门有限公司",
        "'=HYPERLINK(evil)",  # a formula is neutralised; the phone numbers stay as typed
    ]
    assert [name.replace("&#x27;", "'") for name in row_names(page)] == [
        "Beijing Pumps",
        "上海阀门有限公司",
        "=HYPERLINK(evil)",
    ]
    assert rows[2] == [
        "上海阀门有限公司",
        "上海",
        "North",
        "120",
        "2026-06-30",
        "重点客户",
        "+86 21 5555 0000",
    ]
    # The export link on the page carries the same filters and columns.
    assert (
        'href="/customers/export.csv?cf_region=north&amp;sort=-cf_staff&amp;cols=city%2Ccf_region'
        in page
    )


def test_chinese_labels_for_a_chinese_reader(alpha, data):
    client = client_for(alpha, ALPHA.admin_email)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    rows = read_csv(
        client.get("/customers/export.csv", {"cols": "cf_region,cf_channels", "q": "Beijing"})
    )
    assert rows[1] == ["Beijing Pumps", "北方", "网站、展会"]


def test_export_stays_within_the_roles_export_scope(alpha, data, manager):
    with tenant_context(alpha):
        role = Role.objects.create(
            key="reader_exports_own",
            name="Reads all, exports own",
            permissions={"account": {"read": "all", "export": "own"}},
        )
        manager.role = role
        manager.save()
        Account.objects.create(owner=manager, name="Manager's own")
    client = client_for(alpha, manager.email)
    page = client.get("/customers/").content.decode()
    assert len(row_names(page)) == 5  # reads them all
    rows = read_csv(client.get("/customers/export.csv"))
    assert [r[0] for r in rows[1:]] == ["Manager's own"]


def test_a_role_that_may_not_export_gets_no_button_and_403(alpha, data):
    rep = user_with_role(alpha, ALPHA.rep_email, "sales_rep")  # export: none
    with tenant_context(alpha):
        Account.objects.create(owner=rep, name="Rep's")
    client = client_for(alpha, rep.email)
    page = client.get("/customers/").content.decode()
    assert "export.csv" not in page
    refused = client.get("/customers/export.csv")
    assert refused.status_code == 403
    assert "does not allow exporting" in refused.content.decode()


def test_other_owners_and_workspaces_rows_are_never_exported(alpha, beta, data):
    with tenant_context(beta):
        beta_admin = User.objects.get(email=BETA.admin_email)
        Account.objects.create(owner=beta_admin, name="Beta secret")
    manager = user_with_role(alpha, "teamless@export.test", "sales_manager")  # team scope
    with tenant_context(alpha):
        Contact.objects.create(owner=manager, last_name="Mine")
        Contact.objects.create(owner=data, last_name="Admin's")
    client = client_for(alpha, manager.email)
    contacts = read_csv(client.get("/contacts/export.csv"))
    assert [r[0] for r in contacts[1:]] == ["Mine"]
    admin_rows = read_csv(client_for(alpha, ALPHA.admin_email).get("/customers/export.csv"))
    assert "Beta secret" not in {r[0] for r in admin_rows}
    assert client_for(alpha, ALPHA.admin_email).get("/customers/export.csv").status_code == 200


def test_export_query_count_does_not_grow_with_rows(alpha, data):
    client = client_for(alpha, ALPHA.admin_email)
    params = {"cols": "tags,industry,owner,cf_region"}

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            read_csv(client.get("/customers/export.csv", params))
        return len(ctx.captured_queries)

    few = queries()
    with tenant_context(alpha):
        for i in range(40):
            Account.objects.create(owner=data, name=f"Extra {i}", custom_fields={"region": "south"})
    assert queries() == few
