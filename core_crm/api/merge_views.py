"""Merging two records over the API, and undoing a merge: the same services and the same
rules as the merge screen.

Both records must be readable by the caller, else 404 exactly like a missing id. As on the
merge screen, the caller must be allowed to edit the record kept and to delete the record
merged away; otherwise the service answers 403 saying so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core_crm.access.models import Action
from core_crm.access.policy import access_or_404, visible
from core_crm.audit.models import AuditEntry, Channel
from core_crm.customers import selectors
from core_crm.customers.merge import (
    LOSER,
    SURVIVOR,
    is_merge_entry,
    merged_model,
    record_merge,
    record_merge_undo,
    undo_entry_of,
)
from core_crm.customers.models import Account, Contact, Lead
from core_crm.users.models import User

from .admin_serializers import MergeRequestSerializer, MergeResultSerializer, UndoResultSerializer
from .serializers import AccountSerializer, ContactSerializer, LeadSerializer

ERROR = OpenApiResponse(description='`{"<field>": [...]}`, e.g. `other` or `values.<field>`.')
FORBIDDEN = OpenApiResponse(description='The role does not allow it: `{"detail": ...}` says why.')
NOT_FOUND = OpenApiResponse(description="No such record the caller may read.")
CONFLICT = OpenApiResponse(description='Cannot be done as things are: `{"detail": ...}`.')


@dataclass(frozen=True)
class Kind:
    model: type[Model]
    object_type: str
    selector: Any
    serializer: Any


KINDS: dict[str, Kind] = {
    "accounts": Kind(Account, "account", selectors.account_list, AccountSerializer),
    "contacts": Kind(Contact, "contact", selectors.contact_list, ContactSerializer),
    "leads": Kind(Lead, "lead", selectors.lead_list, LeadSerializer),
}
KIND_BY_MODEL = {kind.model: kind for kind in KINDS.values()}
CHOICE = {"survivor": SURVIVOR, "other": LOSER}


def _record_body(kind: Kind, user: User, pk: Any, request: Request) -> dict[str, Any]:
    """The record as its detail endpoint answers it; only its id if the caller cannot read it
    (a record restored by an undo may belong to someone out of the caller's sight)."""
    record = kind.selector(user).prefetch_related("tags").filter(pk=pk).first()
    if record is None:
        return {"id": pk}
    return dict(kind.serializer(record, context={"request": request}).data)


class MergeView(APIView):
    """POST /api/v1/<accounts|contacts|leads>/<id>/merge/"""

    @extend_schema(
        summary="Merge another record into this one (this one is kept)",
        description=(
            "The record in the path is kept (the survivor); `other` is merged into it and "
            "deleted. For each field in `values`, the survivor keeps its own value "
            '(`"survivor"`) or takes the other\'s (`"other"`); fields left out keep the '
            "survivor's value unless it is empty. Tags end up as the union. Every row pointing "
            "at the other record (contacts of an account, shares, conversion requests…) moves "
            "to the survivor. Needs the right to edit the survivor and to delete the other "
            "record (403 otherwise); an id the caller cannot read answers 404 like a missing "
            "one. The answer's `merge_entry` undoes it: POST /api/v1/merges/{id}/undo/."
        ),
        request=MergeRequestSerializer,
        responses={
            200: MergeResultSerializer,
            400: ERROR,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: CONFLICT,
        },
        tags=["merge"],
    )
    def post(self, request: Request, pk: int, objects: str) -> Response:
        kind = KINDS[objects]
        user = cast(User, request.user)
        survivor = access_or_404(user, kind.selector(user), pk, kind.object_type, Action.READ)
        body = MergeRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        other_pk = body.validated_data["other"]
        if other_pk == survivor.pk:
            raise ValidationError({"other": [_("Choose a record other than the one kept.")]})
        loser = access_or_404(user, kind.selector(user), other_pk, kind.object_type, Action.READ)
        choices = {name: CHOICE[pick] for name, pick in body.validated_data["values"].items()}
        try:
            entry = record_merge(
                actor=user, survivor=survivor, loser=loser, choices=choices, channel=Channel.API
            )
        except DjangoValidationError as exc:
            # The names are those of `values`: say so, so the caller knows where to look.
            if not hasattr(exc, "error_dict"):
                raise ValidationError({"detail": exc.messages}) from exc
            raise ValidationError({"values": exc.message_dict}) from exc
        moved: Counter[str] = Counter()
        for group in entry.changes.get("moved", []):
            moved[group["relation"]] += len(group["pks"])
        return Response(
            {
                "record": _record_body(kind, user, survivor.pk, request),
                "merged_away": loser.pk,
                "merge_entry": entry.pk,
                "moved": [{"relation": k, "count": n} for k, n in sorted(moved.items())],
                "removed": len(entry.changes.get("removed", [])),
            }
        )


class MergeUndoView(APIView):
    """POST /api/v1/merges/<audit entry id>/undo/"""

    @extend_schema(
        summary="Undo a merge",
        description=(
            "Recreates the record merged away with its old id and values, gives the kept "
            "record its previous values back and moves the related rows back. Needs the right "
            "to edit the kept record; an entry that is not a merge, or whose kept record the "
            "caller cannot edit, answers 404. Refused with 409 when it cannot be done safely "
            "(already undone, the old id taken…)."
        ),
        request=None,
        responses={200: UndoResultSerializer, 403: FORBIDDEN, 404: NOT_FOUND, 409: CONFLICT},
        tags=["merge"],
    )
    def post(self, request: Request, entry_id: int) -> Response:
        user = cast(User, request.user)
        entry = AuditEntry.objects.select_related("content_type").filter(pk=entry_id).first()
        model = merged_model(entry) if entry is not None else None
        if entry is None or model is None or not is_merge_entry(entry):
            raise Http404
        kind = KIND_BY_MODEL[model]
        editable = visible(user, kind.selector(user), kind.object_type, Action.EDIT)
        if not editable.filter(pk=entry.object_id).exists():
            raise Http404
        restored = record_merge_undo(actor=user, entry=entry, channel=Channel.API)
        undo = undo_entry_of(entry)
        assert undo is not None  # the service has just written it
        return Response(
            {
                "record": _record_body(kind, user, entry.object_id, request),
                "restored": _record_body(kind, user, restored.pk, request),
                "undo_entry": undo.pk,
            },
            status=status.HTTP_200_OK,
        )
