"""Columns filled into custom fields: guessed from the header, converted by the field's own
rules, bad values reported with column and field, required fields mapped, update merges."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import tenant_context

from core_crm.customers.models import Account, Contact, Lead, PicklistValue
from core_crm.customfields import services as field_services
from core_crm.imports import services
from core_crm.imports.mapping import guess_mapping, targets
from core_crm.imports.models import ImportJob

from ..customfields.helpers import make_all_types, make_field
from .test_import_engine import csv_bytes, run

HEADER = [
    "Name",
    "Nickname",
    "Staff",
    "Credit",
    "Renewal",
    "VIP",
    "Custom: Region",  # "Region" alone is the standard field of accounts
    "Channels",
    "Portal",
    "Billing email",
]


def upload(admin, rows, object_type="account", name="a.csv"):
    return services.import_job_create(
        actor=admin, object_type=object_type, file_name=name, content=csv_bytes(rows)
    )


def test_custom_fields_are_targets_guessed_from_label_or_key_in_either_language(alpha, beta, admin):
    make_all_types(alpha, "account")
    make_field(alpha, "lead", "fair_booth", "text", label="Booth", label_zh="展位")
    with tenant_context(alpha):
        labels = {t.key: t.label for t in targets("account")}
        assert labels["cf_region"] == "Custom: Region"
        assert guess_mapping("account", HEADER) == {
            "0": "name",
            "1": "cf_nickname",
            "2": "cf_staff",
            "3": "cf_credit",
            "4": "cf_renewal",
            "5": "cf_vip",
            "6": "cf_region",
            "7": "cf_channels",
            "8": "cf_portal",
            "9": "cf_billing_email",
        }
        # Chinese label, and the key itself
        assert guess_mapping("lead", ["姓", "展位"]) == {"0": "last_name", "1": "cf_fair_booth"}
        assert guess_mapping("lead", ["Last name", "fair_booth"])["1"] == "cf_fair_booth"
        assert guess_mapping("lead", ["Last name", "自定义\uff1a展位"])["1"] == "cf_fair_booth"
        # a standard field's own name comes first
        assert guess_mapping("account", ["Name", "Region"])["1"] == "region"
    with tenant_context(beta):  # another workspace's fields are not offered
        assert not [t for t in targets("account") if t.key.startswith("cf_")]


def test_good_values_are_converted_by_each_fields_own_rules(alpha, admin):
    make_all_types(alpha, "account")
    rows = [
        HEADER,
        [
            "Suzhou Gears",
            "Gears",
            "1,200",
            "12.50",
            "2026/3/31",
            "是",
            "北方",
            "Web; 展会、phone",
            "gears.cn",
            "ap@gears.cn",
        ],
        ["Wuxi Motors", "", "", "", "2026-04-01", "no", "south", "", "", ""],
    ]
    with tenant_context(alpha):
        job = run(upload(admin, rows), admin)
        assert (job.created_count, job.failed_count) == (2, 0), list(
            job.issues.values_list("messages", flat=True)
        )
        gears = Account.objects.get(name="Suzhou Gears")
        assert gears.custom_fields == {
            "nickname": "Gears",
            "staff": 1200,
            "credit": "12.50",
            "renewal": "2026-03-31",
            "vip": True,
            "region": "north",
            "channels": ["web", "fair", "phone"],
            "portal": "https://gears.cn",
            "billing_email": "ap@gears.cn",
        }
        wuxi = Account.objects.get(name="Wuxi Motors")
        # empty cells store nothing
        assert wuxi.custom_fields == {"renewal": "2026-04-01", "vip": False, "region": "south"}


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("Staff", "many", "Enter a whole number."),
        ("Staff", "2.5", "Enter a whole number."),
        ("Credit", "ten", "Enter a number."),
        ("Renewal", "next spring", "Enter a date as YYYY-MM-DD"),
        ("VIP", "perhaps", "Enter yes or no"),
        ("Custom: Region", "East", "“East” is not one of the choices (north, south)."),
        ("Channels", "web; pigeon", "“pigeon” is not one of the choices"),
        ("Portal", "not a url", "Enter a web address"),
        ("Billing email", "ap@", "Enter an email address"),
        ("Nickname", "n" * 300, "At most 255 characters"),
    ],
)
def test_a_bad_value_rejects_the_row_naming_column_and_field(alpha, admin, column, value, reason):
    make_all_types(alpha, "account")
    bad = ["Bad Row"] + [""] * (len(HEADER) - 1)
    bad[HEADER.index(column)] = value
    rows = [HEADER, ["Good Row"] + [""] * (len(HEADER) - 1), bad]
    label = {"Billing email": "Billing Email", "VIP": "Vip", "Custom: Region": "Region"}.get(
        column, column
    )
    with tenant_context(alpha):
        job = run(upload(admin, rows), admin)
        assert (job.created_count, job.failed_count) == (1, 1)
        issue = job.issues.get()
        assert issue.line == 3
        [message] = issue.messages
        assert message.startswith(f"Custom: {label} (column “{column}”): "), message
        assert reason in message
        assert not Account.objects.filter(name="Bad Row").exists()


def test_a_required_custom_field_must_be_mapped_and_filled(alpha, admin):
    make_field(alpha, "lead", "booth", "text", label="Booth", required=True)
    with tenant_context(alpha):
        job = upload(admin, [["Last name", "Stand"], ["Li", "A1"], ["Wang", ""]], "lead")
        assert job.mapping == {"0": "last_name"}
        with pytest.raises(ValidationError) as refused:
            services.import_job_configure(
                job, actor=admin, mapping=job.mapping, on_duplicate="skip", tag="", owner_mode="me"
            )
        assert refused.value.message_dict["__all__"] == [
            "Map a column to “Custom: Booth”: every record needs it."
        ]
        job.refresh_from_db()
        assert job.status == ImportJob.Status.UPLOADED  # nothing stored
        job = run(job, admin, mapping={"0": "last_name", "1": "cf_booth"})
        assert (job.created_count, job.failed_count) == (1, 1)
        assert job.issues.get().messages == [
            "Custom: Booth (column “Stand”): This field is required."
        ]
        assert Lead.objects.get(last_name="Li").custom_fields == {"booth": "A1"}


def test_update_mode_merges_mapped_custom_values_into_the_existing_ones(alpha, admin):
    make_all_types(alpha, "contact")
    with tenant_context(alpha):
        existing = Contact.objects.create(
            last_name="Li",
            email="li@valves.cn",
            owner=admin,
            custom_fields={"nickname": "Lili", "region": "south", "staff": 3},
        )
        rows = [["Last name", "Email", "Region", "Staff"], ["Li", "LI@valves.cn", "North", ""]]
        job = run(upload(admin, rows, "contact"), admin, on_duplicate="update")
        assert (job.updated_count, job.created_count, job.failed_count) == (1, 0, 0)
        existing.refresh_from_db()
        # the mapped value changed, an empty cell and unmapped fields kept theirs
        assert existing.custom_fields == {"nickname": "Lili", "staff": 3, "region": "north"}


def test_a_remembered_layout_drops_a_field_archived_since_with_a_message(alpha, admin):
    fields = make_all_types(alpha, "account")
    rows = [["Name", "Custom: Region", "VIP"], ["Acme", "north", "yes"]]
    with tenant_context(alpha):
        job = run(upload(admin, rows), admin)
        assert job.mapping == {"0": "name", "1": "cf_region", "2": "cf_vip"}
        field_services.field_set_active(actor=admin, field=fields["region"], active=False)
        again = upload(admin, rows, name="b.csv")
        assert again.mapping == {"0": "name", "2": "cf_vip"}
        assert again.notices == [
            "Column “Custom: Region” filled the custom field “Region” last time; that field has "
            "been archived or deleted, so choose another field for the column."
        ]
        with pytest.raises(ValidationError) as refused:  # nor can it be chosen by hand
            services.import_job_configure(
                again,
                actor=admin,
                mapping={"0": "name", "1": "cf_region"},
                on_duplicate="create",
                tag="",
                owner_mode="me",
            )
        assert "column_1" in refused.value.message_dict
        again = run(again, admin, on_duplicate="create")
        assert again.notices == []  # saved mapping: the notice has done its job
        assert again.created_count == 1


def test_a_field_archived_after_mapping_rejects_its_rows_with_a_reason(alpha, admin):
    fields = make_all_types(alpha, "account")
    rows = [["Name", "Custom: Region"], ["Acme", "north"]]
    with tenant_context(alpha):
        job = upload(admin, rows)
        services.import_job_configure(
            job, actor=admin, mapping=job.mapping, on_duplicate="skip", tag="", owner_mode="me"
        )
        field_services.field_set_active(actor=admin, field=fields["region"], active=False)
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
        job = services.import_run(job.pk)
        assert (job.created_count, job.failed_count) == (0, 1)
        assert "archived or deleted" in job.issues.get().messages[0]


# --- Queries per chunk ---------------------------------------------------------------------


def _name(count: int, i: int) -> str:
    """Names unlike each other, so none is taken for a duplicate of another."""
    digest = hashlib.sha256(f"{count}/{i}".encode()).hexdigest()
    return "".join(chr(ord("a") + int(c, 16)) for c in digest[:12]).title()


def _chunk_queries(alpha, admin, count: int) -> int:
    """Queries of one run of `count` contact rows that name existing accounts, with picklist,
    choice, custom and tag columns."""
    rows = [["Name", "Company", "Email", "Role", "Region", "Tags"]]
    rows += [
        [_name(count, i), f"Firm {i % 7}", f"p{count}-{i}@x.cn", "Buyer", "north", f"T{i % 3}"]
        for i in range(count)
    ]
    job = upload(admin, rows, "contact")
    services.import_job_configure(
        job, actor=admin, mapping=job.mapping, on_duplicate="skip", tag="fair", owner_mode="me"
    )
    assert set(job.mapping.values()) == {"full_name", "account", "email", "role", "cf_region"} | {
        "tags"
    }
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    with CaptureQueriesContext(connection) as queries:
        job = services.import_run(job.pk)
    assert (job.status, job.created_count) == ("done", count), job.error
    return len(queries)


def test_queries_per_chunk_do_not_grow_with_its_rows(alpha, admin):
    make_field(alpha, "contact", "region", "choice", choices=[{"code": "north", "label": "N"}])
    with tenant_context(alpha):
        PicklistValue.objects.create(picklist="contact_role", code="buyer", label="Buyer")
        for i in range(7):
            Account.objects.create(name=f"Firm {i}", owner=admin)
        fifty = _chunk_queries(alpha, admin, 50)
        five_hundred = _chunk_queries(alpha, admin, 500)
        assert Contact.objects.filter(account__name="Firm 3", role__code="buyer").count() > 70
        assert five_hundred <= fifty + 4, (fifty, five_hundred)
        assert fifty < 80


def test_the_mapping_page_offers_custom_fields_and_shows_the_layout_notice(
    alpha, admin, admin_client
):
    fields = make_all_types(alpha, "contact")
    rows = [["Last name", "Region", "Channels"], ["Li", "north", "web"]]
    with tenant_context(alpha):
        run(upload(admin, rows, "contact"), admin)
        field_services.field_set_active(actor=admin, field=fields["region"], active=False)
        job = upload(admin, rows, "contact", name="again.csv")
    page = admin_client.get(f"/imports/{job.pk}/map/").content.decode()
    notices = page.split('data-testid="mapping-notices"')[1].split("</div>")[0]
    assert "Column “Region” filled the custom field “Region” last time" in notices
    assert 'value="cf_channels" selected' in page and ">Custom: Channels<" in page
    assert 'value="cf_region"' not in page  # archived: not offered
    admin_client.cookies["django_language"] = "zh-hans"
    page = admin_client.get(f"/imports/{job.pk}/map/").content.decode()
    assert ">自定义\uff1aChannels<" in page
