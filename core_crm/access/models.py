from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """How far a permission reaches (EspoCRM's model)."""

    ALL = "all", _("All records")
    TEAM = "team", _("Records of my teams")
    OWN = "own", _("My records")
    NONE = "none", _("None")


class Action(models.TextChoices):
    CREATE = "create", _("Create")
    READ = "read", _("Read")
    EDIT = "edit", _("Edit")
    DELETE = "delete", _("Delete")
    EXPORT = "export", _("Export")


# Object types under record security, with their display names.
OBJECT_TYPES: dict[str, str] = {
    "account": "Account",
    "contact": "Contact",
    "lead": "Lead",
    "opportunity": "Opportunity",
    "quote": "Quote",
    "activity": "Activity",
}
SCOPE_ORDER = [Scope.NONE, Scope.OWN, Scope.TEAM, Scope.ALL]


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="teams", blank=True, verbose_name=_("members")
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def validate_permissions(value: object) -> None:
    """{object type: {action: scope}}; create takes only all or none."""
    if not isinstance(value, dict):
        raise ValidationError(_("Permissions must be a mapping of object types."))
    for object_type, actions in value.items():
        if object_type not in OBJECT_TYPES:
            raise ValidationError(_("Unknown object type “%(t)s”.") % {"t": object_type})
        if not isinstance(actions, dict):
            raise ValidationError(_("Permissions of %(t)s must be a mapping.") % {"t": object_type})
        for action, scope in actions.items():
            if action not in Action.values:
                raise ValidationError(_("Unknown action “%(a)s”.") % {"a": action})
            if scope not in Scope.values:
                raise ValidationError(_("Unknown scope “%(s)s”.") % {"s": scope})
            if action == Action.CREATE and scope not in (Scope.ALL, Scope.NONE):
                raise ValidationError(_("Create is either allowed (all) or not (none)."))


class Role(models.Model):
    """A permission profile: for each object type and action, a scope."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    permissions = models.JSONField(
        _("permissions"), default=dict, validators=[validate_permissions]
    )
    is_system = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def scope(self, object_type: str, action: str) -> str:
        return str(self.permissions.get(object_type, {}).get(action, Scope.NONE))


class RecordShare(models.Model):
    """One record shared with a user or a team, for reading or also editing."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.BigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="shares",
    )
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.CASCADE, related_name="shares"
    )
    can_edit = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["content_type", "object_id"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(user__isnull=False, team__isnull=True)
                    | Q(user__isnull=True, team__isnull=False)
                ),
                name="share_with_user_or_team",
            )
        ]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.object_id} → {self.user_id or self.team_id}"


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> InvitationQuerySet:
        """Not accepted, not revoked, not expired: the one definition of a usable invitation."""
        from django.utils import timezone

        return self.filter(
            accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )


class Invitation(models.Model):
    """An emailed invitation to join the workspace with a role (and optionally a team)."""

    email = models.EmailField(_("email"))
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"
