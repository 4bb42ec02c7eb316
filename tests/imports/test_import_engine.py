"""Importing spreadsheets: every row saved whole or reported with its line and reasons."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context
from openpyxl import Workbook

from core_crm.access.models import Team
from core_crm.audit.models import AuditEntry
from core_crm.customers.models import Account, Contact, Lead, PicklistValue
from core_crm.imports import services
from core_crm.imports.models import ImportIssue, ImportJob, ImportLayout
from core_crm.users.models import User

from ..conftest import BETA


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run(job: ImportJob, actor: User, **options) -> ImportJob:
    options.setdefault("mapping", job.mapping)
    options.setdefault("on_duplicate", "skip")
    options.setdefault("tag", "fair-2026")
    options.setdefault("owner_mode", "me")
    services.import_job_configure(job, actor=actor, **options)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
    return services.import_run(job.pk)


CARDS = [
    ["姓名", "公司", "职位", "手机", "邮箱", "生日", "标签"],
    [
        "李娜",
        "上海阀门有限公司",
        "采购经理",
        "+86 139 1234 5678",
        "lina@valves.cn",
        "1985-03-02",
        "VIP",
    ],
    ["John Smith", "Acme Pumps", "CTO", "+1 415 555 0100", "john@acme.example", "", ""],
    [
        "王伟",
        "上海阀门有限公司",
        "工程师",
        "138 0013 8000",
        "wangwei@valves.cn",
        "1990/7/1",
        "VIP, 华东",
    ],
]


def test_business_cards_become_contacts_with_accounts_tags_history_and_audit(alpha, admin):
    with tenant_context(alpha):
        job = services.import_job_create(
            actor=admin, object_type="contact", file_name="fair.csv", content=csv_bytes(CARDS)
        )
        # the header was recognised in Chinese
        assert job.mapping == {
            "0": "full_name",
            "1": "account",
            "2": "title",
            "3": "mobile",
            "4": "email",
            "5": "birthday",
            "6": "tags",
        }
        job = run(job, admin)
        assert (job.status, job.created_count, job.failed_count, job.skipped_count) == (
            "done",
            3,
            0,
            0,
        )
        assert job.accounts_created == 2
        li = Contact.objects.get(email="lina@valves.cn")
        assert (li.last_name, li.first_name, li.full_name) == ("李", "娜", "李娜")
        assert li.account.name == "上海阀门有限公司"
        assert str(li.birthday) == "1985-03-02"
        assert sorted(t.name for t in li.tags.all()) == ["VIP", "fair-2026"]
        wang = Contact.objects.get(email="wangwei@valves.cn")
        assert wang.account == li.account  # one account for the company, not two
        assert sorted(t.name for t in wang.tags.all()) == ["VIP", "fair-2026", "华东"]
        assert li.employments.get().account == li.account
        entry = AuditEntry.objects.get(object_id=li.pk, content_type__model="contact")
        assert (entry.channel, entry.kind, entry.actor) == ("import", "create", admin)
        assert entry.changes["email"] == [None, "lina@valves.cn"]
        # the mapping is remembered for the next file with the same columns
        layout = ImportLayout.objects.get(object_type="contact")
        again = services.import_job_create(
            actor=admin, object_type="contact", file_name="day2.csv", content=csv_bytes(CARDS[:2])
        )
        assert again.mapping == layout.mapping == job.mapping


def test_broken_rows_are_reported_by_line_and_reason_and_nothing_of_them_is_saved(alpha, admin):
    with tenant_context(alpha):
        Lead.objects.create(last_name="Existing", email="dup@example.com", owner=admin)
        rows = [
            ["First name", "Last name", "Email", "Source", "Status", "Score", "Notes"],
            ["Ann", "Good", "ann@example.com", "Trade fair", "new", "10", "ok"],
            ["Bob", "", "bob@example.com", "", "", "", ""],  # missing required
            ["Cy", "BadMail", "not-an-email", "", "", "", ""],
            ["Di", "BadSource", "di@example.com", "Carrier pigeon", "", "", ""],
            ["Ed", "BadScore", "ed@example.com", "", "", "lots", ""],
            ["Fay", "Dup", "DUP@example.com", "", "", "", ""],
            ["Gil", "BadStatus", "gil@example.com", "", "sleeping", "", ""],
            ["Hu", "Huge", "hu@example.com", "", "", "", "x" * 20_000],
            ["Ivy", "Twin", "ann@example.com", "", "", "", ""],  # same email as line 2
        ]
        job = services.import_job_create(
            actor=admin, object_type="lead", file_name="leads.csv", content=csv_bytes(rows)
        )
        job = run(job, admin)
        assert (job.created_count, job.failed_count, job.skipped_count) == (1, 6, 2)
        assert list(
            Lead.objects.filter(tags__name="fair-2026").values_list("last_name", flat=True)
        ) == ["Good"]
        report = {i.line: (i.kind, " ".join(i.messages)) for i in job.issues.all()}
        assert report[3][0] == "invalid" and "last name" in report[3][1].lower()
        assert "Email" in report[4][1] and "valid email" in report[4][1]
        assert "Carrier pigeon" in report[5][1] and "Known values" in report[5][1]
        assert "lots" in report[6][1] and "whole number" in report[6][1]
        assert report[7] == ("duplicate", report[7][1]) and "Existing" in report[7][1]
        assert "sleeping" in report[8][1]
        assert "20000 characters" in report[9][1]
        assert report[10][0] == "duplicate" and "line 2" in report[10][1]
        rejected = list(csv.reader(io.StringIO(services.rejected_rows_csv(job).lstrip("\ufeff"))))
        assert rejected[0] == [*rows[0], "Line", "Problem"]
        assert [r[-2] for r in rejected[1:]] == ["3", "4", "5", "6", "7", "8", "9", "10"]
        assert rejected[2][:7] == rows[3]


def test_duplicates_can_update_the_existing_record_or_be_created(alpha, admin):
    with tenant_context(alpha):
        existing = Account.objects.create(name="Ningbo Pumps", email="info@pumps.cn", owner=admin)
        rows = [["Name", "Email", "City"], ["Ningbo Pumps Ltd", "INFO@pumps.cn", "Ningbo"]]
        job = services.import_job_create(
            actor=admin, object_type="account", file_name="a.csv", content=csv_bytes(rows)
        )
        job = run(job, admin, on_duplicate="update")
        assert (job.created_count, job.updated_count) == (0, 1)
        existing.refresh_from_db()
        assert (existing.name, existing.city) == ("Ningbo Pumps Ltd", "Ningbo")
        assert AuditEntry.objects.filter(
            object_id=existing.pk, kind="update", channel="import"
        ).exists()
        job = services.import_job_create(
            actor=admin, object_type="account", file_name="a.csv", content=csv_bytes(rows)
        )
        job = run(job, admin, on_duplicate="create")
        assert job.created_count == 1
        assert Account.objects.filter(email__iexact="info@pumps.cn").count() == 2


def test_xlsx_with_dates_numbers_and_picklist_labels_in_chinese(alpha, admin):
    import datetime as dt

    with tenant_context(alpha):
        PicklistValue.objects.filter(picklist="industry", code="manufacturing").update(
            label_zh="制造业"
        )
        content = xlsx_bytes(
            [
                ["Name", "行业", "Employee count", "Annual revenue", "Type", "Website"],
                ["Suzhou Gears", "制造业", 120.0, 1500000.5, "Customer", "gears.cn"],
                ["Wuxi Motors", "Manufacturing", "3,400", "", "经销商", ""],
            ]
        )
        job = services.import_job_create(
            actor=admin, object_type="account", file_name="a.xlsx", content=content
        )
        assert job.file_format == "xlsx"
        job = run(job, admin)
        assert (job.created_count, job.failed_count) == (2, 0), list(
            job.issues.values_list("messages", flat=True)
        )
        gears = Account.objects.get(name="Suzhou Gears")
        assert (gears.industry.code, gears.employee_count, gears.kind) == (
            "manufacturing",
            120,
            "customer",
        )
        assert gears.website == "https://gears.cn"
        wuxi = Account.objects.get(name="Wuxi Motors")
        assert (wuxi.employee_count, wuxi.kind) == (3400, "distributor")
        del dt


def test_a_gb18030_file_is_read_and_a_binary_file_is_refused_with_a_reason(alpha, admin):
    with tenant_context(alpha):
        rows = [
            ["姓名", "公司", "城市"],
            ["张伟", "北京机械厂", "北京"],
            ["刘洋", "天津港务", "天津"],
        ]
        job = services.import_job_create(
            actor=admin, object_type="lead", file_name="gbk.csv", content=csv_bytes(rows, "gb18030")
        )
        assert job.encoding == "gb18030"
        job = run(job, admin)
        assert job.created_count == 2
        assert Lead.objects.filter(company="北京机械厂", city="北京", last_name="张").exists()
        with pytest.raises(ValidationError) as refused:
            services.import_job_create(
                actor=admin, object_type="lead", file_name="x.csv", content=bytes(range(256)) * 40
            )
        assert "file" in refused.value.message_dict
        with pytest.raises(ValidationError) as empty:
            services.import_job_create(
                actor=admin, object_type="lead", file_name="x.csv", content=b"Name\n"
            )
        assert "no data rows" in empty.value.message_dict["file"][0]


def test_mapping_must_cover_required_fields_and_fill_each_field_once(alpha, admin):
    with tenant_context(alpha):
        job = services.import_job_create(
            actor=admin,
            object_type="account",
            file_name="a.csv",
            content=csv_bytes([["A", "B"], ["x", "y"]]),
        )
        with pytest.raises(ValidationError) as missing:
            services.import_job_configure(
                job,
                actor=admin,
                mapping={"0": "city"},
                on_duplicate="skip",
                tag="",
                owner_mode="me",
            )
        assert "Name" in missing.value.message_dict["__all__"][0]
        with pytest.raises(ValidationError) as twice:
            services.import_job_configure(
                job,
                actor=admin,
                mapping={"0": "name", "1": "name"},
                on_duplicate="skip",
                tag="",
                owner_mode="me",
            )
        assert "column_1" in twice.value.message_dict


def test_owners_round_robin_across_a_team_and_a_rep_cannot_give_records_away(alpha, admin, rep):
    with tenant_context(alpha):
        team = Team.objects.create(name="Fair team")
        team.members.set([admin, rep])
        rows = [["Last name"]] + [[f"L{i}"] for i in range(4)]
        job = services.import_job_create(
            actor=admin, object_type="lead", file_name="l.csv", content=csv_bytes(rows)
        )
        job = run(job, admin, owner_mode="team", owner_team=team)
        owners = list(
            Lead.objects.filter(last_name__startswith="L")
            .order_by("last_name")
            .values_list("owner_id", flat=True)
        )
        assert owners == [admin.pk, rep.pk, admin.pk, rep.pk]
        job = services.import_job_create(
            actor=rep, object_type="lead", file_name="l.csv", content=csv_bytes(rows)
        )
        with pytest.raises(ValidationError) as refused:
            services.import_job_configure(
                job,
                actor=rep,
                mapping=job.mapping,
                on_duplicate="skip",
                tag="",
                owner_mode="user",
                owner=admin,
            )
        assert "owner" in refused.value.message_dict


def test_an_interrupted_run_resumes_after_the_last_committed_chunk(alpha, admin, monkeypatch):
    with tenant_context(alpha):
        monkeypatch.setattr(services, "CHUNK", 2)
        rows = [["Last name", "Email"]] + [[f"R{i}", f"r{i}@x.cn"] for i in range(5)]
        job = services.import_job_create(
            actor=admin, object_type="lead", file_name="r.csv", content=csv_bytes(rows)
        )
        services.import_job_configure(
            job, actor=admin, mapping=job.mapping, on_duplicate="skip", tag="", owner_mode="me"
        )
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)
        calls = {"n": 0}
        real = services._run_chunk

        def flaky(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("worker lost")
            return real(*args, **kwargs)

        monkeypatch.setattr(services, "_run_chunk", flaky)
        with pytest.raises(RuntimeError):
            services.import_run(job.pk)
        job.refresh_from_db()
        assert (job.status, job.processed_rows) == ("failed", 2)
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.QUEUED)  # redelivered
        job = services.import_run(job.pk)
        assert (job.status, job.processed_rows, job.created_count, job.skipped_count) == (
            "done",
            5,
            5,
            0,
        )
        assert Lead.objects.filter(email__startswith="r").count() == 5


def test_jobs_and_their_data_stay_in_their_workspace(alpha, beta, admin):
    with tenant_context(alpha):
        job = services.import_job_create(
            actor=admin,
            object_type="lead",
            file_name="a.csv",
            content=csv_bytes([["Last name"], ["Alpha only"]]),
        )
        run(job, admin)
    with tenant_context(beta):
        assert not Lead.objects.filter(last_name="Alpha only").exists()
        assert (
            ImportJob.objects.filter(pk=job.pk).count() == 0
            or ImportJob.objects.get(pk=job.pk).file_name != "a.csv"
        )
        assert User.objects.get(pk=1).email == BETA.admin_email
        assert not ImportIssue.objects.exists()


def test_custom_field_definitions_are_read_once_per_chunk_not_per_row(
    alpha, admin, django_assert_max_num_queries
):
    from core_crm.imports.services import Importer

    with tenant_context(alpha):
        rows = [["Last name", "Email"]] + [[f"Q{i}", f"q{i}@x.cn"] for i in range(60)]
        job = services.import_job_create(
            actor=admin, object_type="lead", file_name="q.csv", content=csv_bytes(rows)
        )
        services.import_job_configure(
            job, actor=admin, mapping=job.mapping, on_duplicate="skip", tag="", owner_mode="me"
        )
        importer = Importer(job)
        parsed = [importer.parse(i + 2, cells) for i, cells in enumerate(rows[1:])]
        with django_assert_max_num_queries(30), services.definitions_loaded_once():  # not 2/row
            importer.build(parsed)
        assert not any(r.errors for r in parsed)
