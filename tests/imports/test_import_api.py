"""The imports REST API: upload, configure, start, status, issues, rejected rows — and who
sees which job."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django_tenants.utils import tenant_context

from core_crm.access.models import Role, Team
from core_crm.api.services import token_create
from core_crm.customers.models import Contact
from core_crm.imports.models import ImportJob
from core_crm.users.models import User

from ..conftest import ALPHA, BETA
from ..customfields.helpers import make_field, user_with_role

CARDS = [
    ["姓名", "公司", "邮箱", "Booth"],
    ["李娜", "上海阀门", "lina@valves.cn", "A1"],
    ["Bad Email", "Acme", "nope", "B2"],
    ["王伟", "上海阀门", "lina@valves.cn", "C3"],  # same email as line 2
]


class Api:
    """A client of one workspace host with one personal access token."""

    def __init__(self, tenant, user: User) -> None:  # type: ignore[no-untyped-def]
        with tenant_context(tenant):
            _row, token = token_create(user=user, name="imports")
        self.client = Client(HTTP_HOST=f"{tenant.schema_name}.localhost")
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    def get(self, path, **params):  # type: ignore[no-untyped-def]
        return self.client.get(path, params, **self.headers)

    def post(self, path, data=None):  # type: ignore[no-untyped-def]
        return self.client.post(path, data or {}, content_type="application/json", **self.headers)

    def upload(self, rows=CARDS, object_type="contact", name="cards.csv", **extra):  # type: ignore[no-untyped-def]
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        file = SimpleUploadedFile(name, out.getvalue().encode(), content_type="text/csv")
        return self.client.post(
            "/api/v1/imports/", {"object_type": object_type, "file": file, **extra}, **self.headers
        )


def admin_api(tenant, email: str) -> Api:  # type: ignore[no-untyped-def]
    with tenant_context(tenant):
        return Api(tenant, User.objects.get(email=email))


@pytest.fixture
def api(alpha) -> Api:  # type: ignore[no-untyped-def]
    return admin_api(alpha, ALPHA.admin_email)


def test_upload_configure_start_follow_and_report(
    alpha, api, eager_celery, django_capture_on_commit_callbacks
):
    make_field(alpha, "contact", "booth", "text", label="Booth")
    response = api.upload()
    assert response.status_code == 201, response.content
    job = response.json()
    assert job["status"] == "uploaded" and job["columns"] == CARDS[0]
    assert job["mapping"] == {"0": "full_name", "1": "account", "2": "email", "3": "cf_booth"}
    assert {"key": "cf_booth", "label": "Custom: Booth"} in job["targets"]
    assert (job["rows_total"], job["rows_done"], job["progress"]) == (3, 0, 0)

    configured = api.post(
        f"/api/v1/imports/{job['id']}/configure/", {"on_duplicate": "skip", "tag": "expo"}
    )
    assert configured.status_code == 200, configured.content
    assert configured.json()["status"] == "ready"
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/v1/imports/{job['id']}/start/")
    assert started.status_code == 202
    status = api.get(f"/api/v1/imports/{job['id']}/").json()
    assert {k: status[k] for k in ("status", "rows_done", "progress")} == {
        "status": "done",
        "rows_done": 3,
        "progress": 100,
    }
    assert (status["rows_created"], status["rows_rejected"], status["rows_skipped"]) == (1, 1, 1)
    with tenant_context(alpha):
        li = Contact.objects.get(email="lina@valves.cn")
        assert (li.account.name, li.custom_fields) == ("上海阀门", {"booth": "A1"})

    issues = api.get(f"/api/v1/imports/{job['id']}/issues/").json()
    assert issues["count"] == 2
    assert [(i["line"], i["kind"]) for i in issues["results"]] == [
        (3, "rejected"),
        (4, "skipped"),
    ]
    assert issues["results"][0]["messages"] == ["Email: Enter a valid email address."]
    assert issues["results"][0]["values"] == CARDS[2]
    only = api.get(f"/api/v1/imports/{job['id']}/issues/", kind="skipped").json()
    assert [i["line"] for i in only["results"]] == [4]
    assert api.get(f"/api/v1/imports/{job['id']}/issues/", kind="odd").json() == {
        "kind": ["Choose rejected or skipped."]
    }

    download = api.get(f"/api/v1/imports/{job['id']}/rejected.csv")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert "cards-not-imported.csv" in download["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert lines[0] == [*CARDS[0], "Line", "Problem"]
    assert [line[-2] for line in lines[1:]] == ["3", "4"]

    again = api.post(f"/api/v1/imports/{job['id']}/start/")
    assert again.status_code == 400
    assert again.json() == {"detail": ["This import is not ready to start."]}


def test_configure_names_every_bad_field_and_keeps_nothing(alpha, api):
    make_field(alpha, "contact", "booth", "text", label="Booth", required=True)
    job = api.upload(rows=[["Name", "Email", "Other"], ["Li", "li@x.cn", "x"]]).json()
    with tenant_context(alpha):
        team = Team.objects.create(name="Empty team")
    response = api.post(
        f"/api/v1/imports/{job['id']}/configure/",
        {
            "mapping": {"0": "email", "1": "email", "2": "no_such_field"},
            "on_duplicate": "sometimes",
            "owner_mode": "team",
            "owner_team": team.pk,
            "tag": "t" * 80,
        },
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"mapping", "mapping.1", "mapping.2", "on_duplicate", "owner_team", "tag"}
    assert "Custom: Booth" in " ".join(errors["mapping"])
    assert "Last name" in " ".join(errors["mapping"])
    assert errors["mapping.1"] == ["“Email” is already filled from column “Name”."]
    unknown = api.post(
        f"/api/v1/imports/{job['id']}/configure/",
        {"mapping": {"0": "last_name", "2": "cf_booth"}, "owner_mode": "user", "owner": 99999},
    )
    assert unknown.json() == {"owner": ["No active user has this id."]}
    in_chinese = api.client.post(
        f"/api/v1/imports/{job['id']}/configure/",
        {"mapping": {"0": "last_name", "2": "cf_booth"}, "owner_mode": "user", "owner": 99999},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        **api.headers,
    )
    assert in_chinese.json() == {"owner": ["没有使用此 ID 的在用用户。"]}
    assert api.post(f"/api/v1/imports/{job['id']}/configure/", {"mapping": []}).json() == {
        "mapping": ['Expected a dictionary of items but got type "list".']
    }
    with tenant_context(alpha):
        stored = ImportJob.objects.get(pk=job["id"])
        assert (stored.status, stored.mapping) == ("uploaded", job["mapping"])
    bad_file = api.upload(rows=[["Only a header"]])
    assert bad_file.status_code == 400 and "no data rows" in bad_file.json()["file"][0]
    assert api.upload(encoding="klingon").json() == {
        "encoding": ["“klingon” is not a known text encoding (e.g. utf-8, gb18030, big5)."]
    }
    assert api.upload(object_type="ships").status_code == 400


def test_another_users_or_workspaces_job_answers_like_a_missing_one(alpha, beta, api):
    pk = api.upload().json()["id"]
    other = Api(alpha, user_with_role(alpha, "rep2@alpha.test", "sales_rep"))
    with tenant_context(beta):
        beta_api = Api(beta, User.objects.get(email=BETA.admin_email))  # pk 1, like alpha's
        ImportJob.objects.filter(pk=pk).delete()  # beta has no job of this id
    missing = other.get("/api/v1/imports/999999/")
    assert missing.status_code == 404
    for client in (other, beta_api):
        for path in ("", "issues/", "rejected.csv"):
            response = client.get(f"/api/v1/imports/{pk}/{path}")
            assert response.status_code == 404, path
            assert response.content == missing.content
        for path in ("configure/", "start/", "cancel/"):
            response = client.post(f"/api/v1/imports/{pk}/{path}", {})
            assert response.status_code == 404, path
            assert response.content == missing.content
    with tenant_context(alpha):
        assert ImportJob.objects.get(pk=pk).status == "uploaded"  # nothing was done to it
    assert other.get("/api/v1/imports/").json()["count"] == 0
    assert beta_api.get("/api/v1/imports/").json()["count"] == 0
    # a workspace admin sees the imports of everyone in the workspace
    theirs = other.upload(rows=[["Last name"], ["Rep"]], object_type="lead").json()["id"]
    assert api.get(f"/api/v1/imports/{theirs}/").json()["file_name"] == "cards.csv"
    assert api.get("/api/v1/imports/").json()["count"] == 2
    assert other.get("/api/v1/imports/").json()["count"] == 1


def test_a_read_only_role_can_neither_upload_nor_start(alpha, api):
    user = user_with_role(alpha, "reader@alpha.test", "sales_rep")
    reader = Api(alpha, user)
    job = reader.upload(rows=[["Last name"], ["Li"]], object_type="lead").json()
    assert reader.post(f"/api/v1/imports/{job['id']}/configure/", {}).status_code == 200
    with tenant_context(alpha):
        user.role = Role.objects.get(key="read_only")
        user.save()
    refused = reader.post(f"/api/v1/imports/{job['id']}/start/")
    assert refused.status_code == 403
    assert "does not allow creating leads" in refused.json()["detail"]
    with tenant_context(alpha):
        assert ImportJob.objects.get(pk=job["id"]).status == "ready"
    upload = reader.upload(rows=[["Last name"], ["Li"]], object_type="lead")
    assert upload.status_code == 403
    with tenant_context(alpha):
        assert ImportJob.objects.filter(created_by=user).count() == 1


def test_session_sign_in_works_too_and_no_sign_in_is_refused(alpha, admin_client):
    out = io.StringIO()
    csv.writer(out).writerows([["Last name"], ["Li"]])
    file = SimpleUploadedFile("s.csv", out.getvalue().encode(), content_type="text/csv")
    response = admin_client.post("/api/v1/imports/", {"object_type": "lead", "file": file})
    assert response.status_code == 201
    anonymous = Client(HTTP_HOST="alpha.localhost")
    assert anonymous.get(f"/api/v1/imports/{response.json()['id']}/").status_code in (401, 403)


def test_listing_issues_and_jobs_takes_the_same_queries_for_more_rows(
    alpha, api, django_assert_max_num_queries
):
    rows = [["Last name", "Email"]] + [[f"L{i}", "bad"] for i in range(60)]
    job = api.upload(rows=rows, object_type="lead").json()
    api.post(f"/api/v1/imports/{job['id']}/configure/", {})
    with tenant_context(alpha):
        from core_crm.imports import services

        ImportJob.objects.filter(pk=job["id"]).update(status="queued")
        services.import_run(job["id"])
    with django_assert_max_num_queries(12):
        page = api.get(f"/api/v1/imports/{job['id']}/issues/", page_size=5).json()
    assert (page["count"], len(page["results"])) == (60, 5)
    with django_assert_max_num_queries(12):
        page = api.get(f"/api/v1/imports/{job['id']}/issues/", page_size=60).json()
    assert len(page["results"]) == 60
    with django_assert_max_num_queries(12):
        assert api.get("/api/v1/imports/").json()["count"] == 1
    for _ in range(4):
        api.upload()
    with django_assert_max_num_queries(12):
        assert api.get("/api/v1/imports/").json()["count"] == 5


def test_the_schema_documents_the_import_endpoints(alpha, api):
    document = api.get("/api/schema/", format="json").json()
    for path in (
        "/api/v1/imports/",
        "/api/v1/imports/{id}/",
        "/api/v1/imports/{id}/configure/",
        "/api/v1/imports/{id}/start/",
        "/api/v1/imports/{id}/cancel/",
        "/api/v1/imports/{id}/issues/",
        "/api/v1/imports/{id}/rejected.csv",
    ):
        assert path in document["paths"], path
    upload = document["paths"]["/api/v1/imports/"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    job = document["components"]["schemas"]["ImportJob"]["properties"]
    assert {"rows_rejected", "progress", "mapping", "targets"} <= set(job)
