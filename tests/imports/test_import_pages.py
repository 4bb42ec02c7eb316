"""Import pages: upload, map, preview, start, progress, report, download — and who sees what."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from core_crm.access.models import Role
from core_crm.customers.models import Contact
from core_crm.imports.models import ImportJob
from core_crm.users.models import User

from ..conftest import ALPHA, BETA, sign_in
from ..customers.test_pages import without_csrf

ROWS = [
    ["Name", "Company", "Email", "Mobile"],
    ["李娜", "上海阀门", "lina@valves.cn", "13912345678"],
    ["Bad Email", "Acme", "nope", ""],
]


def upload(client, rows=ROWS, object_type="contact", name="cards.csv"):
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    file = SimpleUploadedFile(name, out.getvalue().encode(), content_type="text/csv")
    return client.post("/imports/new/", {"object_type": object_type, "file": file})


@pytest.fixture
def admin_client(alpha, alpha_client):
    sign_in(alpha_client, alpha, ALPHA.admin_email)
    return alpha_client


def test_the_whole_import_in_pages_ends_with_a_report_and_a_download(
    alpha, admin_client, eager_celery, django_capture_on_commit_callbacks
):
    response = upload(admin_client)
    assert response.status_code == 302
    with tenant_context(alpha):
        job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/map/"
    page = admin_client.get(f"/imports/{job.pk}/map/").content.decode()
    assert "lina@valves.cn" in page and 'value="full_name" selected' in page
    response = admin_client.post(
        f"/imports/{job.pk}/map/",
        {
            "column_0": "full_name",
            "column_1": "account",
            "column_2": "email",
            "column_3": "mobile",
            "on_duplicate": "skip",
            "tag": "cards",
            "owner_mode": "me",
            "create_accounts": "1",
        },
    )
    assert response["Location"] == f"/imports/{job.pk}/preview/"
    preview = admin_client.get(f"/imports/{job.pk}/preview/").content.decode()
    assert "Rejected" in preview and "Enter a valid email address." in preview
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/imports/{job.pk}/preview/")
    assert response["Location"] == f"/imports/{job.pk}/"
    report = admin_client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-status="done"' in report and 'data-testid="created-count">1<' in report
    assert "Email: Enter a valid email address." in report
    with tenant_context(alpha):
        assert Contact.objects.get(email="lina@valves.cn").account.name == "上海阀门"
    download = admin_client.get(f"/imports/{job.pk}/rejected.csv")
    assert download["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert lines == [
        [*ROWS[0], "Line", "Problem"],
        [*ROWS[2], "3", "Email: Enter a valid email address."],
    ]


def test_progress_partial_polls_while_running_and_asks_for_a_reload_when_done(alpha, admin_client):
    upload(admin_client)
    with tenant_context(alpha):
        job = ImportJob.objects.get()
        ImportJob.objects.filter(pk=job.pk).update(status="running", total_rows=2, processed_rows=1)
    partial = admin_client.get(f"/imports/{job.pk}/progress/", HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in partial.content.decode() and "50%" in partial.content.decode()
    with tenant_context(alpha):
        ImportJob.objects.filter(pk=job.pk).update(status="done", processed_rows=2)
    partial = admin_client.get(f"/imports/{job.pk}/progress/?was_active=1", HTTP_HX_REQUEST="true")
    assert partial["HX-Refresh"] == "true" and "every 1s" not in partial.content.decode()


def test_bad_files_and_bad_mappings_say_what_is_wrong(alpha, admin_client):
    response = admin_client.post(
        "/imports/new/",
        {"object_type": "contact", "file": SimpleUploadedFile("old.xls", b"\xd0\xcf\x11\xe0")},
    )
    assert response.status_code == 400 and "Old Excel files (.xls)" in response.content.decode()
    upload(admin_client)
    with tenant_context(alpha):
        job = ImportJob.objects.get()
    response = admin_client.post(
        f"/imports/{job.pk}/map/",
        {"column_0": "email", "column_2": "email", "on_duplicate": "skip", "owner_mode": "me"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "is already filled from column" in body and "every record needs it" in body


def test_imports_are_private_to_their_author_and_workspace(alpha, beta, alpha_client, beta_client):
    sign_in(alpha_client, alpha, ALPHA.admin_email)
    upload(alpha_client)
    sign_in(beta_client, beta, BETA.admin_email)
    upload(beta_client, rows=[["Name"], ["Beta only"]], object_type="lead", name="beta.csv")
    with tenant_context(alpha):
        job = ImportJob.objects.get()
    with tenant_context(beta):
        beta_job = ImportJob.objects.get()
    del beta_job
    assert "Beta only" not in alpha_client.get(f"/imports/{job.pk}/map/").content.decode()
    assert "cards.csv" not in beta_client.get(f"/imports/{job.pk}/map/").content.decode()
    sign_in(alpha_client, alpha, ALPHA.rep_email)
    missing = alpha_client.get("/imports/999999/").content
    for url in (
        "/imports/{}/",
        "/imports/{}/map/",
        "/imports/{}/preview/",
        "/imports/{}/progress/",
        "/imports/{}/rejected.csv",
    ):
        response = alpha_client.get(url.format(job.pk))
        assert response.status_code == 404, url
        assert without_csrf(response.content) == without_csrf(missing)
    assert alpha_client.post(f"/imports/{job.pk}/cancel/").status_code == 404


def test_a_read_only_user_cannot_import(alpha, alpha_client):
    with tenant_context(alpha):
        rep = User.objects.get(email=ALPHA.rep_email)
        rep.role = Role.objects.get(key="read_only")
        rep.save()
    sign_in(alpha_client, alpha, ALPHA.rep_email)
    assert alpha_client.get("/imports/new/").status_code == 404
    assert "Import a spreadsheet" not in alpha_client.get("/imports/").content.decode()


def test_import_list_query_count_does_not_grow(alpha, admin_client, django_assert_max_num_queries):
    for _ in range(3):
        upload(admin_client)
    with django_assert_max_num_queries(12):
        assert admin_client.get("/imports/").status_code == 200
    for _ in range(5):
        upload(admin_client)
    with django_assert_max_num_queries(12):
        assert admin_client.get("/imports/").content.decode().count("cards.csv") == 8


def test_import_pages_speak_chinese(alpha, admin_client):
    admin_client.cookies["django_language"] = "zh-hans"
    assert "导入电子表格" in admin_client.get("/imports/").content.decode()
    upload(admin_client)
    with tenant_context(alpha):
        job = ImportJob.objects.get()
    page = admin_client.get(f"/imports/{job.pk}/map/").content.decode()
    assert "映射列" in page and "姓名\uff08拆分为姓和名\uff09" in page
