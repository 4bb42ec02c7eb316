"""The imports REST API: upload, map, start, follow and report a spreadsheet import.

The same services and selectors as the import pages: a job is seen by the person who started
it and by workspace admins; anyone else, and another workspace, get 404 exactly like a missing
id. Creating and starting need the role's create permission for the object type (403 saying
so), like the pages."""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core_crm.access.models import Team
from core_crm.users.models import User

from . import selectors, services
from .api_serializers import (
    ISSUE_KINDS,
    ConfigureSerializer,
    ImportIssueSerializer,
    ImportJobSerializer,
    UploadSerializer,
    api_errors,
)
from .models import ImportJob
from .reading import MAX_FILE_BYTES

TAGS = ["imports"]
NOT_FOUND = OpenApiResponse(description="No such import, or not one of yours.")


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class ImportView(APIView):
    @property
    def actor(self) -> User:
        return cast(User, self.request.user)  # IsAuthenticated has let only users through

    def job(self, pk: int) -> ImportJob:
        job = selectors.job_for(self.actor, pk)
        if job is None:
            raise Http404
        return job

    def answer(self, job: ImportJob, code: int = status.HTTP_200_OK) -> Response:
        job = selectors.job_for(self.actor, job.pk) or job  # as stored now
        return Response(ImportJobSerializer(job, context={"request": self.request}).data, code)


class ImportListView(ImportView):
    parser_classes = [MultiPartParser, FormParser]
    pagination_class = Pagination

    @extend_schema(
        tags=TAGS,
        summary="Your imports, newest first (all of them for workspace admins)",
        responses=ImportJobSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.job_list(self.actor), request, view=self)
        data = ImportJobSerializer(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        tags=TAGS,
        summary="Upload a spreadsheet",
        description=(
            "Multipart form with `file`, `object_type` (account, contact, lead) and optionally "
            "`encoding`. Answers the job with the file's `columns` and a first `mapping`: the "
            "one remembered for files with the same header row, or one guessed from the "
            "header (English or Chinese, custom fields by label or key). Nothing is imported "
            "yet: configure, then start."
        ),
        request={"multipart/form-data": UploadSerializer},
        responses={201: ImportJobSerializer, 400: OpenApiResponse(description="Bad input")},
    )
    def post(self, request: Request) -> Response:
        body = UploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError(
                {
                    "file": [
                        _("The file is larger than %(size)d MB; split it.")
                        % {"size": MAX_FILE_BYTES // 2**20}
                    ]
                }
            )
        job = services.import_job_create(
            actor=self.actor,
            object_type=body.validated_data["object_type"],
            file_name=upload.name or "upload.csv",
            content=upload.read(),
            encoding=body.validated_data["encoding"],
        )
        return self.answer(job, status.HTTP_201_CREATED)


class ImportDetailView(ImportView):
    @extend_schema(
        tags=TAGS,
        summary="An import's status and counts",
        responses={200: ImportJobSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        return self.answer(self.job(pk))


class ImportConfigureView(ImportView):
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    @extend_schema(
        tags=TAGS,
        summary="Set the column mapping and options",
        description=(
            "Every problem is answered at once with 400, named by field: `mapping.<column>` "
            "for a column (unknown field, field filled twice), `mapping` for a required field "
            "no column fills (custom fields marked required included), `on_duplicate`, "
            "`owner_mode`, `owner`, `owner_team`, `tag`. The mapping is remembered for the "
            "next file with the same header row."
        ),
        request=ConfigureSerializer,
        responses={
            200: ImportJobSerializer,
            400: OpenApiResponse(description="Bad input"),
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        job = self.job(pk)
        body = ConfigureSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        mode = data["owner_mode"]
        found: dict[str, Any] = {"owner": None, "owner_team": None}
        errors: dict[str, list[str]] = {}
        if mode == ImportJob.OwnerMode.USER and data.get("owner") is not None:
            found["owner"] = User.objects.filter(pk=data["owner"], is_active=True).first()
            if found["owner"] is None:
                errors["owner"] = [_("No active user has this id.")]
        if mode == ImportJob.OwnerMode.TEAM and data.get("owner_team") is not None:
            found["owner_team"] = Team.objects.filter(pk=data["owner_team"]).first()
            if found["owner_team"] is None:
                errors["owner_team"] = [_("No team has this id.")]
        try:
            with transaction.atomic():
                job = services.import_job_configure(
                    job,
                    actor=self.actor,
                    mapping=data.get("mapping", job.mapping),
                    on_duplicate=data["on_duplicate"],
                    tag=data.get("tag", job.tag),
                    owner_mode=mode,
                    owner=found["owner"],
                    owner_team=found["owner_team"],
                    create_accounts=data["create_accounts"],
                )
                if errors:  # an unknown id: nothing of the request is kept
                    raise DjangoValidationError(errors)
        except DjangoValidationError as exc:
            if not hasattr(exc, "error_dict"):
                raise
            raise ValidationError({**api_errors(exc.message_dict), **errors}) from exc
        return self.answer(job)


class ImportStartView(ImportView):
    @extend_schema(
        tags=TAGS,
        summary="Start a configured import",
        description=(
            "Queues the import; it runs in the background in chunks of 500 rows. Follow it "
            "with GET /api/v1/imports/{id}/. 403 when the role may not create this kind of "
            "record; 400 when the import is not configured or has started already."
        ),
        request=None,
        responses={
            202: ImportJobSerializer,
            403: OpenApiResponse(description="Not allowed"),
            404: NOT_FOUND,
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        job = services.import_job_start(self.job(pk), actor=self.actor)
        return self.answer(job, status.HTTP_202_ACCEPTED)


class ImportCancelView(ImportView):
    @extend_schema(
        tags=TAGS,
        summary="Stop a queued or running import",
        description=(
            "The run stops before its next chunk of 500 rows; rows saved so far stay. "
            "`cancel_requested` says whether the request was taken (only a queued or running "
            "import can be stopped)."
        ),
        request=None,
        responses={202: ImportJobSerializer, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        job = self.job(pk)
        services.import_job_cancel(job, actor=self.actor)
        return self.answer(job, status.HTTP_202_ACCEPTED)


class ImportIssuesView(ImportView):
    pagination_class = Pagination

    @extend_schema(
        tags=TAGS,
        summary="Rows not imported, with their line and reasons",
        parameters=[
            OpenApiParameter(
                "kind",
                str,
                enum=sorted(ISSUE_KINDS.values()),
                required=False,
                description="Only rejected rows (invalid) or only skipped ones (duplicates).",
            ),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False, description="At most 200."),
        ],
        responses={200: ImportIssueSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        job = self.job(pk)
        issues = job.issues.order_by("line", "pk")
        kind = request.query_params.get("kind", "")
        if kind:
            wanted = {name: value for value, name in ISSUE_KINDS.items()}
            if kind not in wanted:
                raise ValidationError({"kind": [_("Choose rejected or skipped.")]})
            issues = issues.filter(kind=wanted[kind])
        paginator = Pagination()
        page = paginator.paginate_queryset(issues, request, view=self)
        return paginator.get_paginated_response(ImportIssueSerializer(page, many=True).data)


class ImportRejectedView(ImportView):
    @extend_schema(
        tags=TAGS,
        operation_id="v1_imports_rejected_csv",
        summary="The rows not imported, as CSV to fix and import again",
        description=(
            "The file's own columns plus Line and Problem; UTF-8 with a byte order mark, so "
            "Excel shows Chinese correctly."
        ),
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV file"),
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        job = self.job(pk)
        stem = job.file_name.rsplit(".", 1)[0]
        response = HttpResponse(
            services.rejected_rows_csv(job), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=f"{stem}-not-imported.csv"
        )
        return response
