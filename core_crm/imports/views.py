"""Import pages: upload → map columns → preview → run with a progress bar → report."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core_crm.access.models import Action, Scope, Team
from core_crm.access.policy import PermissionDenied, scope_for
from core_crm.users.models import User
from guanxi.http import posted, show_errors

from . import selectors, services
from .mapping import targets
from .models import ImportJob
from .reading import ENCODING_CHOICES, MAX_FILE_BYTES


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _creatable(user: User) -> list[tuple[str, Any]]:
    return [
        (value, label)
        for value, label in ImportJob.ObjectType.choices
        if scope_for(user, value, Action.CREATE) == Scope.ALL
    ]


def _job_or_404(request: HttpRequest, pk: int) -> ImportJob:
    """Imports are seen by the person who started them and by workspace admins."""
    job = selectors.job_for(_actor(request), pk)
    if job is None:
        raise Http404
    return job


class UploadForm(forms.Form):
    object_type = forms.ChoiceField(label=gettext_lazy("The file holds"))
    file = forms.FileField(
        label=gettext_lazy("CSV or Excel (.xlsx) file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )
    encoding = forms.ChoiceField(
        label=gettext_lazy("Text encoding (CSV)"), choices=ENCODING_CHOICES, required=False
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = _creatable(user)  # type: ignore[attr-defined]


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    page = Paginator(selectors.job_list(user), 25).get_page(request.GET.get("page"))
    return render(
        request, "imports/list.html", {"page": page, "can_import": bool(_creatable(user))}
    )


@login_required
def job_new(request: HttpRequest) -> HttpResponse:
    user = _actor(request)
    if not _creatable(user):
        raise Http404
    initial = {"object_type": request.GET.get("object", "")}
    form = UploadForm(posted(request), request.FILES or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            form.add_error(
                "file",
                _("The file is larger than %(size)d MB; split it.")
                % {"size": MAX_FILE_BYTES // 2**20},
            )
        else:
            try:
                job = services.import_job_create(
                    actor=user,
                    object_type=form.cleaned_data["object_type"],
                    file_name=upload.name,
                    content=upload.read(),
                    encoding=form.cleaned_data["encoding"],
                )
                return redirect("import_map", job.pk)
            except ValidationError as exc:
                show_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "imports/new.html",
        {"form": form, "max_mb": MAX_FILE_BYTES // 2**20},
        status=status,
    )


@login_required
def job_map(request: HttpRequest, pk: int) -> HttpResponse:
    user = _actor(request)
    job = _job_or_404(request, pk)
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.READY):
        return redirect("import_detail", job.pk)
    choices = targets(job.object_type)
    users = User.objects.filter(is_active=True).order_by("full_name", "email")
    teams = Team.objects.all()
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "mapping": dict(job.mapping),
        "on_duplicate": job.on_duplicate,
        "tag": job.tag,
        "owner_mode": job.owner_mode,
        "owner": job.owner_id,
        "owner_team": job.owner_team_id,
        "create_accounts": job.create_accounts,
    }
    if request.method == "POST":
        data = request.POST
        values = {
            "mapping": {str(i): data.get(f"column_{i}", "") for i in range(len(job.header))},
            "on_duplicate": data.get("on_duplicate", ""),
            "tag": data.get("tag", ""),
            "owner_mode": data.get("owner_mode", "me"),
            "owner": int(data["owner"]) if data.get("owner", "").isdigit() else None,
            "owner_team": int(data["owner_team"]) if data.get("owner_team", "").isdigit() else None,
            "create_accounts": bool(data.get("create_accounts")),
        }
        try:
            services.import_job_configure(
                job,
                actor=user,
                mapping=values["mapping"],
                on_duplicate=values["on_duplicate"],
                tag=values["tag"],
                owner_mode=values["owner_mode"],
                owner=users.filter(pk=values["owner"]).first() if values["owner"] else None,
                owner_team=teams.filter(pk=values["owner_team"]).first()
                if values["owner_team"]
                else None,
                create_accounts=values["create_accounts"],
            )
            return redirect("import_preview", job.pk)
        except ValidationError as exc:
            errors = exc.message_dict
    samples = services.sample_rows(job, 3)
    columns = [
        {
            "index": str(i),
            "title": title or _("Column %(n)d") % {"n": i + 1},
            "samples": [row[i] for row in samples if i < len(row) and row[i].strip()][:3],
            "selected": values["mapping"].get(str(i), ""),
            "errors": errors.get(f"column_{i}", []),
        }
        for i, title in enumerate(job.header)
    ]
    return render(
        request,
        "imports/map.html",
        {
            "job": job,
            "columns": columns,
            "targets": choices,
            "values": values,
            "errors": errors,
            "users": users,
            "teams": teams,
            "duplicate_choices": ImportJob.OnDuplicate.choices,
            "owner_choices": ImportJob.OwnerMode.choices,
        },
        status=400 if errors else 200,
    )


@login_required
def job_preview(request: HttpRequest, pk: int) -> HttpResponse:
    user = _actor(request)
    job = _job_or_404(request, pk)
    if job.status == ImportJob.Status.UPLOADED:
        return redirect("import_map", job.pk)
    if job.status != ImportJob.Status.READY:
        return redirect("import_detail", job.pk)
    error = ""
    if request.method == "POST":
        try:
            services.import_job_start(job, actor=user)
            return redirect("import_detail", job.pk)
        except (ValidationError, PermissionDenied) as exc:
            error = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    rows = services.preview(job)
    labels = {t.key: t.label for t in targets(job.object_type)}
    # A custom field archived since the mapping was saved shows by its key.
    headers = [
        label
        for _index, label in sorted((int(i), labels.get(k, k)) for i, k in job.mapping.items())
    ]
    return render(
        request,
        "imports/preview.html",
        {"job": job, "rows": rows, "headers": headers, "error": error},
    )


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(request, pk)
    if job.status == ImportJob.Status.UPLOADED:
        return redirect("import_map", job.pk)
    issues = Paginator(job.issues.all(), 50).get_page(request.GET.get("page"))
    return render(request, "imports/detail.html", {"job": job, "issues": issues})


@login_required
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar alone, polled while the import runs; the whole page reloads once it
    ends, to show the report."""
    job = _job_or_404(request, pk)
    response = render(request, "imports/_progress.html", {"job": job})
    if request.GET.get("was_active") and not job.is_active:
        response["HX-Refresh"] = "true"
    return response


@login_required
def job_rejected(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(request, pk)
    stem = job.file_name.rsplit(".", 1)[0]
    response = HttpResponse(services.rejected_rows_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{stem}-not-imported.csv"
    )
    return response


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(request, pk)
    services.import_job_cancel(job, actor=_actor(request))
    return redirect("import_detail", job.pk)
